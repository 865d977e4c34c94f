package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseIPRange reads an IP address ("10.0.0.1", "::1") or a CIDR range
// ("10.0.0.0/8") as a prefix; an IPv4-mapped IPv6 address or range is
// read as IPv4, as connections' addresses are compared.
func ParseIPRange(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid IP %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseIPRanges reads a list with ParseIPRange; field names the list in
// errors, e.g. "ipAllowList.sourceRange[2]: invalid CIDR ...".
func ParseIPRanges(list []string, field string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := ParseIPRange(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}
