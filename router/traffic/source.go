package traffic

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// ipStrategy picks the client IP of a request: the connection's address,
// the depth-th address from the right of X-Forwarded-For, or the rightmost
// X-Forwarded-For address not in excluded.
type ipStrategy struct {
	depth    int
	excluded *prefixSet
	v6bits   int // ipv6Subnet: IPv6 addresses become their subnet's first; 0: off
}

// newIPStrategy compiles s; nil means the connection's address.
func newIPStrategy(s *config.IPStrategy, field string) (*ipStrategy, error) {
	st := &ipStrategy{}
	if s == nil {
		return st, nil
	}
	if s.Depth < 0 {
		return nil, fmt.Errorf("%s.depth: negative depth %d", field, s.Depth)
	}
	st.depth = s.Depth
	if s.IPv6Subnet < 0 || s.IPv6Subnet > 128 {
		return nil, fmt.Errorf("%s.ipv6Subnet: %d out of 1-128", field, s.IPv6Subnet)
	}
	st.v6bits = s.IPv6Subnet
	if len(s.ExcludedIPs) > 0 {
		set, err := newPrefixSet(s.ExcludedIPs, field+".excludedIPs")
		if err != nil {
			return nil, err
		}
		st.excluded = set
	}
	return st, nil
}

// clientIP returns the client IP as text, a substring of a request field,
// and false when the strategy finds none (too few X-Forwarded-For entries,
// or all of them excluded).
func (s *ipStrategy) clientIP(r *http.Request) (string, bool) {
	var ip string
	var ok bool
	switch {
	case s.depth > 0:
		ip, ok = xffFromRight(r.Header["X-Forwarded-For"], s.depth, nil)
	case s.excluded != nil:
		ip, ok = xffFromRight(r.Header["X-Forwarded-For"], 0, s.excluded)
	default:
		ip, ok = remoteIP(r.RemoteAddr), true
	}
	if ok && s.v6bits > 0 {
		ip = subnetOf(ip, s.v6bits) // source_subnet.go
	}
	return ip, ok
}

// remoteIP strips the port from a RemoteAddr without allocating.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// xffFromRight walks the X-Forwarded-For values from the right. With
// depth > 0 it returns the depth-th entry; otherwise the first entry whose
// address is not in excluded. It does not allocate.
func xffFromRight(values []string, depth int, excluded *prefixSet) (string, bool) {
	n := 0
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for end := len(v); end > 0; {
			start := strings.LastIndexByte(v[:end], ',') + 1
			item := strings.TrimSpace(v[start:end])
			end = start - 1
			if item == "" {
				continue
			}
			n++
			if depth > 0 {
				if n == depth {
					return item, true
				}
				continue
			}
			if !excluded.containsText(item) {
				return item, true
			}
		}
	}
	return "", false
}

// prefixSet is a set of IP ranges.
type prefixSet struct {
	prefixes []netip.Prefix
}

// newPrefixSet parses IPs and CIDRs; field names the option in errors.
func newPrefixSet(ranges []string, field string) (*prefixSet, error) {
	set := &prefixSet{prefixes: make([]netip.Prefix, 0, len(ranges))}
	for i, s := range ranges {
		p, err := config.ParseIPRange(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		set.prefixes = append(set.prefixes, p)
	}
	return set, nil
}

// contains reports whether a is in one of the ranges.
func (s *prefixSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// containsText parses ip (with or without a port, or in brackets) and
// reports whether it is in one of the ranges; unparsable text is not.
func (s *prefixSet) containsText(ip string) bool {
	a, ok := parseIP(ip)
	return ok && s.contains(a)
}

// parseIP parses "1.2.3.4", "1.2.3.4:80", "::1" or "[::1]:80".
func parseIP(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// sourceKey tells clients apart for rate and concurrency limits.
type sourceKey struct {
	ip     *ipStrategy
	header string
	host   bool
}

// newSourceKey compiles a source criterion; byHost chooses the default when
// none is set (the request host, else the client IP).
func newSourceKey(c *config.SourceCriterion, byHost bool) (*sourceKey, error) {
	if c == nil || (c.IPStrategy == nil && c.RequestHeaderName == "" && !c.RequestHost) {
		if byHost {
			return &sourceKey{host: true}, nil
		}
		return &sourceKey{ip: &ipStrategy{}}, nil
	}
	n := 0
	if c.IPStrategy != nil {
		n++
	}
	if c.RequestHeaderName != "" {
		n++
	}
	if c.RequestHost {
		n++
	}
	if n > 1 {
		return nil, fmt.Errorf("sourceCriterion: ipStrategy, requestHeaderName and requestHost are exclusive, %d are set", n)
	}
	switch {
	case c.IPStrategy != nil:
		st, err := newIPStrategy(c.IPStrategy, "sourceCriterion.ipStrategy")
		if err != nil {
			return nil, err
		}
		return &sourceKey{ip: st}, nil
	case c.RequestHeaderName != "":
		return &sourceKey{header: http.CanonicalHeaderKey(c.RequestHeaderName)}, nil
	default:
		return &sourceKey{host: true}, nil
	}
}

// key returns the client's key; it may be a substring of a request field,
// so callers clone it before keeping it. When the IP strategy finds no
// address, the connection's address is used.
func (k *sourceKey) key(r *http.Request) string {
	switch {
	case k.header != "":
		if v := r.Header[k.header]; len(v) > 0 {
			return v[0]
		}
		return ""
	case k.host:
		return r.Host
	}
	if ip, ok := k.ip.clientIP(r); ok {
		return ip
	}
	if k.ip.v6bits > 0 {
		return subnetOf(remoteIP(r.RemoteAddr), k.ip.v6bits)
	}
	return remoteIP(r.RemoteAddr)
}
