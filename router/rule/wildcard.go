package rule

import (
	"errors"
	"slices"
	"strings"
)

// Wildcard hosts. Host(`*.example.com`) matches the hosts that have exactly
// one more label than example.com (a.example.com, not a.b.example.com nor
// example.com), as in Traefik v3. Rule.Hosts lists it as "*.example.com";
// routers index it under its parent domain, "example.com", and look a
// request up under ParentDomain(host): one map lookup, no regexp.

// ParentDomain returns host without its first label: "example.com" for
// "a.example.com". It is the key under which a routing table files
// Host(`*.example.com`). It returns "" when host has a single label or an
// empty first label. It does not allocate.
func ParentDomain(host string) string {
	i := strings.IndexByte(host, '.')
	if i <= 0 {
		return ""
	}
	return host[i+1:]
}

// WildcardParent returns the parent domain of a wildcard host such as
// "*.example.com" ("example.com", true), or false when pattern is an
// exact host.
func WildcardParent(pattern string) (string, bool) {
	return strings.CutPrefix(pattern, "*.")
}

// MatchHost reports whether host (lower-case, as NormalizeHost returns it)
// is pattern, an entry of Rule.Hosts or Rule.Domains: an exact name, or a
// wildcard that stands for every host with exactly one more label.
func MatchHost(pattern, host string) bool {
	if parent, ok := WildcardParent(pattern); ok {
		return ParentDomain(host) == parent
	}
	return pattern == host
}

// wildcardArg validates the argument of Host(`*.example.com`) and returns
// its parent domain, lower-case.
func wildcardArg(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "*.")
	if !ok || strings.IndexByte(rest, '*') >= 0 {
		return "", errors.New("a wildcard must be a whole first label matching one label, as in *.example.com (use HostRegexp for other patterns)")
	}
	parent, err := hostArg(rest)
	if err != nil {
		return "", err
	}
	last := parent[strings.LastIndexByte(parent, '.')+1:]
	if strings.IndexByte(parent, ':') >= 0 || strings.Trim(last, "0123456789") == "" {
		return "", errors.New("a wildcard's parent must be a domain name, not an IP address")
	}
	return parent, nil
}

// covered reports whether exact host h is matched by a wildcard of the
// sorted set hosts.
func covered(h string, hosts []string) bool {
	p := ParentDomain(h)
	if p == "" {
		return false
	}
	_, found := slices.BinarySearch(hosts, "*."+p)
	return found
}

// normalizeSet sorts and deduplicates hosts and drops the exact names a
// wildcard of the set already covers, so that a routing table holds a rule
// under one key per request host. It never returns nil.
func normalizeSet(hosts []string) []string {
	if hosts == nil {
		return []string{}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	if !slices.ContainsFunc(hosts, func(h string) bool { return strings.HasPrefix(h, "*.") }) {
		return hosts
	}
	wild := slices.Clone(hosts)
	return slices.DeleteFunc(hosts, func(h string) bool {
		return !strings.HasPrefix(h, "*.") && covered(h, wild)
	})
}

// intersectHosts returns the hosts both normalised sets a and b accept: an
// exact name of one that the other lists or covers with a wildcard, and
// the wildcards both list (two different wildcards share no host).
func intersectHosts(a, b []string) []string {
	out := []string{}
	keep := func(h string, other []string) {
		if _, found := slices.BinarySearch(other, h); found {
			out = append(out, h)
		} else if !strings.HasPrefix(h, "*.") && covered(h, other) {
			out = append(out, h)
		}
	}
	for _, h := range a {
		keep(h, b)
	}
	for _, h := range b {
		if !strings.HasPrefix(h, "*.") && covered(h, a) {
			out = append(out, h)
		}
	}
	return normalizeSet(out)
}
