package configs

import (
	"fmt"
	"net/netip"
	"strings"
)

// EntryPointProxyProtocol accepts PROXY protocol headers (versions 1 and 2)
// from trusted peers: the header's client address then replaces the peer's
// for rules, logs and forwarded headers.
type EntryPointProxyProtocol struct {
	// TrustedIPs are the peers (addresses or CIDR ranges) whose PROXY headers are accepted;
	// a connection from any other peer that starts with a PROXY header is closed.
	TrustedIPs []string `json:"trustedIPs"`
}

// parseTrustedIPs parses the entry point's proxyProtocol.trustedIPs.
func (ep *EntryPointConfig) parseTrustedIPs() ([]netip.Prefix, error) {
	if ep == nil || ep.ProxyProtocol == nil {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(ep.ProxyProtocol.TrustedIPs))
	for i, s := range ep.ProxyProtocol.TrustedIPs {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
			p = p.Masked()
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("proxyProtocol.trustedIPs[%d]: %q is not an IP address or CIDR range", i, s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("proxyProtocol.trustedIPs: empty; list the peers allowed to send PROXY headers")
	}
	return out, nil
}

// TrustedIPs returns the checked trusted PROXY protocol peers of an entry
// point (Parse has reported any error already).
func (ep *EntryPointConfig) TrustedIPs() []netip.Prefix {
	p, _ := ep.parseTrustedIPs()
	return p
}
