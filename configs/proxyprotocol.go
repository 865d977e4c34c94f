package configs

import (
	"fmt"
	"net/netip"

	"github.com/ferryproxy/ferry/router/config"
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
	out, err := parsePrefixes(ep.ProxyProtocol.TrustedIPs, "proxyProtocol.trustedIPs")
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("proxyProtocol.trustedIPs: empty; list the peers allowed to send PROXY headers")
	}
	return out, err
}

// parsePrefixes parses addresses and CIDR ranges; key names the list in
// errors.
func parsePrefixes(list []string, key string) ([]netip.Prefix, error) {
	return config.ParseIPRanges(list, key)
}

// TrustedIPs returns the checked trusted PROXY protocol peers of an entry
// point (Parse has reported any error already).
func (ep *EntryPointConfig) TrustedIPs() []netip.Prefix {
	p, _ := ep.parseTrustedIPs()
	return p
}

// EntryPointForwardedHeaders chooses whose X-Forwarded-* headers are
// believed (Traefik's forwardedHeaders).
type EntryPointForwardedHeaders struct {
	// TrustedIPs are the peers (addresses or CIDR ranges) whose X-Forwarded-*,
	// X-Real-Ip and Forwarded headers are kept and passed on; from anyone
	// else they are removed before routing, so that rules, middlewares and
	// servers see only what Ferry itself sets.
	TrustedIPs []string `json:"trustedIPs"`
	// Insecure trusts every peer's forwarded headers.
	Insecure bool `json:"insecure"`
}

// ForwardedTrust returns the peers whose forwarded headers are kept, and
// whether every peer's are (Parse has reported any error already).
func (ep *EntryPointConfig) ForwardedTrust() (trusted []netip.Prefix, insecure bool) {
	if ep == nil || ep.ForwardedHeaders == nil {
		return nil, false
	}
	p, _ := parsePrefixes(ep.ForwardedHeaders.TrustedIPs, "forwardedHeaders.trustedIPs")
	return p, ep.ForwardedHeaders.Insecure
}
