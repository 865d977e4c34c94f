package config

// Servers transports: how Ferry connects to the servers of a service
// (TLS towards HTTPS and TLS upstreams, client certificates, timeouts,
// pools). They are named objects of their own, under
// http.serversTransports and tcp.serversTransports, referenced by
// loadBalancer.serversTransport (name or name@provider). A service that
// names none uses default@internal, made from the static configuration's
// serversTransport (HTTP) and tcpServersTransport (TCP) sections.

// Servers transport object kinds.
const (
	KindServersTransport    Kind = "serversTransport"
	KindTCPServersTransport Kind = "tcpServersTransport"
)

// DefaultTransport is the name of the transport of services that name
// none: the static configuration's serversTransport (or tcpServersTransport).
const DefaultTransport = "default@" + Internal

// ServersTransport configures the connections to the servers of the HTTP
// services that name it. Unset fields take Ferry's defaults, not those of
// the static serversTransport section.
type ServersTransport struct {
	// ServerName is the name sent in SNI and checked against the server's
	// certificate (default: the host of the server's URL).
	ServerName string `json:"serverName,omitempty"`
	// InsecureSkipVerify accepts any server certificate: nothing is verified.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// RootCAs are the certificate authorities trusted for servers' certificates,
	// each a file path or PEM text, instead of the system's roots.
	RootCAs []string `json:"rootCAs,omitempty"`
	// Certificates are client certificates presented to servers that ask for one
	// (mutual TLS), each a certificate and key as file paths or PEM text.
	Certificates []Certificate `json:"certificates,omitempty"`
	// MaxIdleConnsPerHost is how many idle connections are kept per server
	// (default 512); a negative value keeps none, so every request opens a connection.
	MaxIdleConnsPerHost int `json:"maxIdleConnsPerHost,omitempty"`
	// ForwardingTimeouts bound the phases of a request to a server.
	ForwardingTimeouts *ForwardingTimeouts `json:"forwardingTimeouts,omitempty"`
	// DisableHTTP2 speaks HTTP/1.1 to https:// servers even when they offer HTTP/2.
	DisableHTTP2 bool `json:"disableHTTP2,omitempty"`
	// PeerCertURI, when set, replaces the host name check: the server's certificate must
	// still chain to RootCAs, and one of its URI SANs must equal this value
	// (e.g. spiffe://example.org/backend).
	PeerCertURI string `json:"peerCertURI,omitempty"`
	// Spiffe is refused: Ferry has no SPIFFE Workload API client. Use RootCAs with
	// the trust bundle and PeerCertURI with the SPIFFE ID instead.
	Spiffe *Spiffe `json:"spiffe,omitempty"`
}

// ForwardingTimeouts bound the phases of a request to a server. Zero means
// the default.
type ForwardingTimeouts struct {
	// DialTimeout bounds establishing a connection, TLS handshake included (default 10s).
	DialTimeout Duration `json:"dialTimeout,omitempty"`
	// ResponseHeaderTimeout bounds the wait for the response's headers once the
	// request is sent (default: none). Exceeded: 504, counted against the server.
	ResponseHeaderTimeout Duration `json:"responseHeaderTimeout,omitempty"`
	// IdleConnTimeout is how long an idle connection is kept in the pool (default 90s).
	IdleConnTimeout Duration `json:"idleConnTimeout,omitempty"`
	// ReadIdleTimeout, for HTTP/2 connections, sends a ping after this long without
	// a frame from the server (default: no pings).
	ReadIdleTimeout Duration `json:"readIdleTimeout,omitempty"`
	// PingTimeout closes an HTTP/2 connection whose ping got no answer in this long (default 15s).
	PingTimeout Duration `json:"pingTimeout,omitempty"`
}

// Spiffe is Traefik's SPIFFE section. It is accepted by the decoder so that
// a configuration naming it gets a clear refusal rather than an unknown key.
type Spiffe struct {
	// IDs are the SPIFFE IDs accepted for the server.
	IDs []string `json:"ids,omitempty"`
	// TrustDomain is the SPIFFE trust domain accepted for the server.
	TrustDomain string `json:"trustDomain,omitempty"`
}

// TCPServersTransport configures the connections to the servers of the TCP
// services that name it.
type TCPServersTransport struct {
	// DialTimeout bounds establishing a connection, TLS handshake included (default 5s).
	DialTimeout Duration `json:"dialTimeout,omitempty"`
	// DialKeepAlive is the interval of TCP keep-alive probes (default 15s; negative: none).
	DialKeepAlive Duration `json:"dialKeepAlive,omitempty"`
	// TerminationDelay bounds how long the other direction may keep running once one
	// side has closed its half (default: none). A service's own loadBalancer.terminationDelay wins.
	TerminationDelay Duration `json:"terminationDelay,omitempty"`
	// ProxyProtocol, when set, sends a PROXY protocol header to the servers.
	// A service's own loadBalancer.proxyProtocol wins.
	ProxyProtocol *ProxyProtocol `json:"proxyProtocol,omitempty"`
	// TLS, when set, makes Ferry open TLS connections to the servers and forward
	// the plaintext it receives through them.
	TLS *TCPTransportTLS `json:"tls,omitempty"`
}

// TCPTransportTLS is the TLS client side of a TCP servers transport.
type TCPTransportTLS struct {
	// ServerName is the name sent in SNI and checked against the server's
	// certificate (default: the host of the server's address).
	ServerName string `json:"serverName,omitempty"`
	// InsecureSkipVerify accepts any server certificate: nothing is verified.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// RootCAs are the certificate authorities trusted for servers' certificates,
	// each a file path or PEM text, instead of the system's roots.
	RootCAs []string `json:"rootCAs,omitempty"`
	// Certificates are client certificates presented to servers that ask for one.
	Certificates []Certificate `json:"certificates,omitempty"`
	// PeerCertURI, when set, replaces the host name check with a check that one of
	// the certificate's URI SANs equals it (the chain is still verified).
	PeerCertURI string `json:"peerCertURI,omitempty"`
	// Spiffe is refused, as in ServersTransport.
	Spiffe *Spiffe `json:"spiffe,omitempty"`
}

// TLSClient returns the TLS client settings of t in the HTTP transport's shape.
func (t *TCPTransportTLS) TLSClient() *ServersTransport {
	if t == nil {
		return nil
	}
	return &ServersTransport{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, RootCAs: t.RootCAs,
		Certificates: t.Certificates, PeerCertURI: t.PeerCertURI, Spiffe: t.Spiffe}
}

// Redacted returns t with inline private keys replaced; t itself when it
// holds none.
func (t *ServersTransport) Redacted() *ServersTransport {
	if t == nil {
		return nil
	}
	certs, changed := redactCertificates(t.Certificates)
	if !changed {
		return t
	}
	cp := *t
	cp.Certificates = certs
	return &cp
}

// Redacted returns t with inline private keys replaced; t itself when it
// holds none.
func (t *TCPServersTransport) Redacted() *TCPServersTransport {
	if t == nil || t.TLS == nil {
		return t
	}
	certs, changed := redactCertificates(t.TLS.Certificates)
	if !changed {
		return t
	}
	cp, tlsCopy := *t, *t.TLS
	tlsCopy.Certificates = certs
	cp.TLS = &tlsCopy
	return &cp
}

// redactCertificates returns certs with inline keys (and keys inside a
// certFile) replaced, and whether anything was.
func redactCertificates(certs []Certificate) ([]Certificate, bool) {
	var out []Certificate
	for i, c := range certs {
		r := Certificate{CertFile: RedactText(c.CertFile), KeyFile: redactKey(c.KeyFile)}
		if r == c {
			continue
		}
		if out == nil {
			out = append([]Certificate(nil), certs...)
		}
		out[i] = r
	}
	if out == nil {
		return certs, false
	}
	return out, true
}

// qualifiedTransports returns m with every name qualified by q.
func qualifiedTransports[T any](m map[string]*T, q func(string) string) map[string]*T {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*T, len(m))
	for name, t := range m {
		if t != nil {
			out[q(name)] = t
		}
	}
	return out
}

// withQualifiedTransport returns s with its loadBalancer.serversTransport
// qualified by q; s itself when there is nothing to change.
func withQualifiedTransport(s *Service, q func(string) string) *Service {
	if s == nil || s.LoadBalancer == nil || s.LoadBalancer.ServersTransport == "" {
		return s
	}
	name := q(s.LoadBalancer.ServersTransport)
	if name == s.LoadBalancer.ServersTransport {
		return s
	}
	cp, lb := *s, *s.LoadBalancer
	lb.ServersTransport = name
	cp.LoadBalancer = &lb
	return &cp
}

// withQualifiedTCPTransport is withQualifiedTransport for TCP services.
func withQualifiedTCPTransport(s *TCPService, q func(string) string) *TCPService {
	if s == nil || s.LoadBalancer == nil || s.LoadBalancer.ServersTransport == "" {
		return s
	}
	name := q(s.LoadBalancer.ServersTransport)
	if name == s.LoadBalancer.ServersTransport {
		return s
	}
	cp, lb := *s, *s.LoadBalancer
	lb.ServersTransport = name
	cp.LoadBalancer = &lb
	return &cp
}
