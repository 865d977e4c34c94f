package gateway

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// Hostnames here are lower-case DNS names, "*.suffix" wildcards (matching
// one or more labels in front of suffix, as the Gateway API says), or ""
// for any host.

// wildcard reports whether h is a "*." wildcard.
func wildcard(h string) bool { return strings.HasPrefix(h, "*.") }

// matchesWildcard reports whether name (exact or wildcard) falls under
// the wildcard w: "a.example.com" and "*.a.example.com" fall under
// "*.example.com"; "example.com" does not.
func matchesWildcard(name, w string) bool {
	suffix := w[1:] // ".example.com"
	if wildcard(name) {
		name = name[2:]
		return name == suffix[1:] || strings.HasSuffix(name, suffix)
	}
	return len(name) > len(suffix) && strings.HasSuffix(name, suffix)
}

// intersect returns the hostname that both a listener hostname and a route
// hostname allow, and whether there is one: the more specific of the two.
// An empty hostname allows any host.
func intersect(listener, route string) (string, bool) {
	switch {
	case listener == "":
		return route, true
	case route == "":
		return listener, true
	case listener == route:
		return route, true
	case wildcard(listener) && matchesWildcard(route, listener):
		return route, true
	case wildcard(route) && matchesWildcard(listener, route):
		return listener, true
	}
	return "", false
}

// routeHostnames returns the hostnames a route may serve through a
// listener: the intersections of the listener's hostname with each of the
// route's, or the listener's alone when the route names none. ok is false
// when the route names hostnames and none intersects.
func routeHostnames(listener string, route []string) (hosts []string, ok bool) {
	if len(route) == 0 {
		return []string{listener}, true
	}
	for _, h := range route {
		if x, ok := intersect(listener, strings.ToLower(h)); ok {
			hosts = append(hosts, x)
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	return hosts, len(hosts) > 0
}

// hostGroup is a set of hostnames that share one router: every exact
// name together, each wildcard alone, or any host.
type hostGroup struct {
	exact    []string // sorted
	wildcard string   // "*.example.com"
	any      bool
}

// groupHosts splits hostnames into router groups, most specific first.
// Any host ("") makes the other names redundant: it is returned alone.
func groupHosts(hosts []string) []hostGroup {
	if slices.Contains(hosts, "") {
		return []hostGroup{{any: true}}
	}
	var exact, wild []string
	for _, h := range hosts {
		if wildcard(h) {
			wild = append(wild, h)
		} else {
			exact = append(exact, h)
		}
	}
	slices.Sort(exact)
	exact = slices.Compact(exact)
	slices.Sort(wild)
	wild = slices.Compact(wild)
	var out []hostGroup
	if len(exact) > 0 {
		out = append(out, hostGroup{exact: exact})
	}
	for _, w := range wild {
		out = append(out, hostGroup{wildcard: w})
	}
	return out
}

// Host precedence classes: an exact name beats every wildcard, a longer
// wildcard beats a shorter one, and any wildcard beats any host.
const (
	hostClassAny   = 0
	hostClassExact = 300
)

// class is the group's hostname precedence.
func (g hostGroup) class() int {
	switch {
	case g.any:
		return hostClassAny
	case g.wildcard != "":
		return 1 + min(len(g.wildcard), 255)
	}
	return hostClassExact
}

// suffix names the group in router names: "" for exact names and any
// host, "-w<n>" for the n-th wildcard.
func (g hostGroup) suffix(i int, groups []hostGroup) string {
	if g.wildcard == "" {
		return ""
	}
	n := i
	if len(groups) > 0 && groups[0].wildcard == "" {
		n-- // the exact group comes first
	}
	return "-w" + strconv.Itoa(n)
}

// wildcardRegexp is the regular expression of a wildcard's host names.
func wildcardRegexp(w string) string {
	return `^[^.]+(\.[^.]+)*` + regexp.QuoteMeta(w[1:]) + `$`
}

// httpExpr is the rule matching the group's hosts, "" for any host.
func (g hostGroup) httpExpr() string {
	switch {
	case g.any:
		return ""
	case g.wildcard != "":
		return "HostRegexp(" + lit(wildcardRegexp(g.wildcard)) + ")"
	}
	return anyOf("Host", g.exact)
}

// sniExpr is the TCP rule matching the group's server names.
func (g hostGroup) sniExpr() string {
	switch {
	case g.any:
		return "HostSNI(`*`)"
	case g.wildcard != "":
		return "HostSNIRegexp(" + lit(wildcardRegexp(g.wildcard)) + ")"
	}
	return anyOf("HostSNI", g.exact)
}

// lit quotes s for the rule language: in backticks, or as a Go string
// when s holds a backtick.
func lit(s string) string {
	if strings.ContainsRune(s, '`') {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}

// anyOf matches one of names with matcher: matcher(name), joined with ||
// in parentheses when there are several, as rule syntax v3 takes one name
// per matcher.
func anyOf(matcher string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = matcher + "(" + lit(n) + ")"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// markRuleSyntax marks the routers' rules as rule syntax v3, the syntax
// they are written in, so that core.defaultRuleSyntax: v2 does not read
// them otherwise.
func markRuleSyntax(cfg *config.Config) {
	for _, r := range cfg.HTTP.Routers {
		r.RuleSyntax = "v3"
	}
	for _, r := range cfg.TCP.Routers {
		r.RuleSyntax = "v3"
	}
}
