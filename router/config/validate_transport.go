package config

import (
	"fmt"
	"net/url"
	"strings"
)

// spiffeRefusal is why a spiffe section disables its transport.
const spiffeRefusal = "not supported: Ferry has no SPIFFE Workload API client; " +
	"put the trust bundle in rootCAs and the server's SPIFFE ID in peerCertURI"

// validateTransports checks every HTTP and TCP servers transport on its
// own, and every service's reference to one. Files are not read here: a
// rootCAs file that cannot be read is found when the transport is built.
func validateTransports(c *Config) []Problem {
	var ps []Problem
	add := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for name, t := range c.HTTP.ServersTransports {
		if t != nil {
			checkServersTransport(t, func(field, format string, args ...any) { add(KindServersTransport, name, field, format, args...) })
		}
	}
	for name, t := range c.TCP.ServersTransports {
		if t != nil {
			checkTCPServersTransport(t, func(field, format string, args ...any) { add(KindTCPServersTransport, name, field, format, args...) })
		}
	}
	for name, s := range c.HTTP.Services {
		if s == nil || s.LoadBalancer == nil {
			continue
		}
		if ref := s.LoadBalancer.ServersTransport; ref != "" && ref != DefaultTransport && c.HTTP.ServersTransports[ref] == nil {
			add(KindService, name, "loadBalancer.serversTransport", "servers transport %q does not exist", ref)
		}
	}
	for name, s := range c.TCP.Services {
		if s == nil || s.LoadBalancer == nil {
			continue
		}
		if ref := s.LoadBalancer.ServersTransport; ref != "" && ref != DefaultTransport && c.TCP.ServersTransports[ref] == nil {
			add(KindTCPService, name, "loadBalancer.serversTransport", "TCP servers transport %q does not exist", ref)
		}
	}
	return ps
}

// ValidateServersTransport checks one HTTP servers transport (the static
// serversTransport section) and returns "field: message" for each defect.
func ValidateServersTransport(t *ServersTransport) []string {
	var out []string
	if t != nil {
		checkServersTransport(t, func(field, format string, args ...any) { out = append(out, field+": "+fmt.Sprintf(format, args...)) })
	}
	return out
}

// ValidateTCPServersTransport checks one TCP servers transport (the static
// tcpServersTransport section) and returns "field: message" for each defect.
func ValidateTCPServersTransport(t *TCPServersTransport) []string {
	var out []string
	if t != nil {
		checkTCPServersTransport(t, func(field, format string, args ...any) { out = append(out, field+": "+fmt.Sprintf(format, args...)) })
	}
	return out
}

func checkServersTransport(t *ServersTransport, bad func(field, format string, args ...any)) {
	validateTLSClient(t, "", bad)
	if ft := t.ForwardingTimeouts; ft != nil {
		for _, d := range []struct {
			field string
			v     Duration
		}{{"dialTimeout", ft.DialTimeout}, {"responseHeaderTimeout", ft.ResponseHeaderTimeout},
			{"idleConnTimeout", ft.IdleConnTimeout}, {"readIdleTimeout", ft.ReadIdleTimeout}, {"pingTimeout", ft.PingTimeout}} {
			if d.v < 0 {
				bad("forwardingTimeouts."+d.field, "negative duration %s", d.v)
			}
		}
	}
}

func checkTCPServersTransport(t *TCPServersTransport, bad func(field, format string, args ...any)) {
	if t.DialTimeout < 0 {
		bad("dialTimeout", "negative duration %s", t.DialTimeout)
	}
	if t.TerminationDelay < 0 {
		bad("terminationDelay", "negative duration %s", t.TerminationDelay)
	}
	if pp := t.ProxyProtocol; pp != nil && pp.Version != 0 && pp.Version != 1 && pp.Version != 2 {
		bad("proxyProtocol.version", "version %d is not 1 or 2", pp.Version)
	}
	if t.TLS != nil {
		validateTLSClient(t.TLS.TLSClient(), "tls.", bad)
	}
}

// validateTLSClient checks the TLS client settings of a transport; prefix
// is put before every field name ("tls." for TCP transports).
func validateTLSClient(t *ServersTransport, prefix string, bad func(field, format string, args ...any)) {
	for i, ca := range t.RootCAs {
		if strings.TrimSpace(ca) == "" {
			bad(fmt.Sprintf("%srootCAs[%d]", prefix, i), "empty (want a file path or PEM text)")
		}
	}
	for i, c := range t.Certificates {
		field := fmt.Sprintf("%scertificates[%d]", prefix, i)
		if c.CertFile == "" {
			bad(field+".certFile", "missing")
		}
		if c.KeyFile == "" {
			bad(field+".keyFile", "missing")
		}
	}
	if t.ServerName != "" && strings.ContainsAny(t.ServerName, " \t\r\n/") {
		bad(prefix+"serverName", "invalid server name %q", t.ServerName)
	}
	if t.PeerCertURI != "" {
		if u, err := url.Parse(t.PeerCertURI); err != nil || u.Scheme == "" {
			bad(prefix+"peerCertURI", "want a URI such as spiffe://example.org/backend, got %q", t.PeerCertURI)
		}
	}
	if t.Spiffe != nil {
		bad(prefix+"spiffe", spiffeRefusal)
	}
}
