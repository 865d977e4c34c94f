// Package config is Ferry's dynamic configuration schema: plain value types
// that every provider produces and the router consumes. Names follow
// Traefik's so that existing configurations read naturally.
//
// The package depends on the standard library only.
package config

// Config is one complete dynamic configuration: a provider's view, or the
// merged view of all providers.
type Config struct {
	// HTTP holds the layer 7 routers, services and middlewares.
	HTTP HTTP `json:"http"`
	// TCP holds the layer 4 routers and services.
	TCP TCP `json:"tcp"`
	// UDP holds the datagram routers and services.
	UDP UDP `json:"udp,omitzero"`
	// TLS holds certificates served on TLS entry points.
	TLS TLS `json:"tls"`
}

// HTTP is the layer 7 part of a configuration.
type HTTP struct {
	// Routers match requests and send them to a service, by router name.
	Routers map[string]*Router `json:"routers,omitempty"`
	// Services are the destinations of routers, by service name.
	Services map[string]*Service `json:"services,omitempty"`
	// Middlewares transform requests on their way to a service, by name.
	Middlewares map[string]*Middleware `json:"middlewares,omitempty"`
	// ServersTransports configure the connections to servers (TLS, client
	// certificates, timeouts, pools), by name; services name one in
	// loadBalancer.serversTransport.
	ServersTransports map[string]*ServersTransport `json:"serversTransports,omitempty"`
}

// Router matches requests with a rule and hands them to a service.
type Router struct {
	// Rule is the matching expression, e.g. Host(`example.com`) && PathPrefix(`/api`).
	Rule string `json:"rule,omitempty"`
	// RuleSyntax is the rule language the rule is written in: v3 (Traefik v3's)
	// or v2 (Traefik v2's: Host(`a`, `b`), Headers, Query(`k=v`), {name:re}
	// templates); empty means core.defaultRuleSyntax, else v3.
	RuleSyntax string `json:"ruleSyntax,omitempty"`
	// Service is the name of the service that receives matching requests.
	Service string `json:"service,omitempty"`
	// EntryPoints restricts the router to these entry points; empty means all HTTP entry points.
	EntryPoints []string `json:"entryPoints,omitempty"`
	// Middlewares are applied in order before the service.
	Middlewares []string `json:"middlewares,omitempty"`
	// Priority orders routers; higher is tried first. Zero means the rule's length.
	Priority int `json:"priority,omitempty"`
	// TLS, when set, binds the router to TLS entry points only.
	TLS *RouterTLS `json:"tls,omitempty"`
}

// RouterTLS is a router's TLS section.
type RouterTLS struct {
	// CertResolver names the certificate resolver that obtains certificates for the router's hosts.
	CertResolver string `json:"certResolver,omitempty"`
	// Domains overrides the names taken from the rule for certificate requests.
	Domains []Domain `json:"domains,omitempty"`
	// Options names a TLS options set.
	Options string `json:"options,omitempty"`
	// OnDemand obtains a certificate from CertResolver at the first TLS
	// handshake for a name the rule does not list (a HostRegexp or
	// catch-all router), when the resolver's onDemand.ask URL allows it.
	OnDemand bool `json:"onDemand,omitempty"`
}

// Domain is a certificate's main name and its subject alternative names.
type Domain struct {
	// Main is the certificate's primary name.
	Main string `json:"main,omitempty"`
	// SANs are additional names on the same certificate.
	SANs []string `json:"sans,omitempty"`
}

// Service is where a router sends requests. Exactly one kind is set.
type Service struct {
	// LoadBalancer spreads requests across servers.
	LoadBalancer *LoadBalancer `json:"loadBalancer,omitempty"`
	// Weighted spreads requests across other services by weight.
	Weighted *Weighted `json:"weighted,omitempty"`
	// Mirroring sends requests to a main service and copies a share of them to mirror services.
	Mirroring *Mirroring `json:"mirroring,omitempty"`
	// Failover sends requests to a main service, or to a fallback service while the main has no healthy server.
	Failover *Failover `json:"failover,omitempty"`
}

// LoadBalancer spreads requests over a list of servers.
type LoadBalancer struct {
	// Servers are the upstream servers.
	Servers []Server `json:"servers,omitempty"`
	// PassHostHeader forwards the client's Host header to the server (default true).
	PassHostHeader *bool `json:"passHostHeader,omitempty"`
	// ResponseForwarding tunes how responses are copied back to the client.
	ResponseForwarding *ResponseForwarding `json:"responseForwarding,omitempty"`
	// Strategy picks the server for each request: wrr (smooth weighted round robin, default),
	// p2c (power of two random choices, the one with fewer requests in flight) or leastconn
	// (fewest requests in flight). Weights are honoured by all three.
	Strategy string `json:"strategy,omitempty"`
	// Sticky pins each client to one server with a cookie.
	Sticky *Sticky `json:"sticky,omitempty"`
	// HealthCheck probes every server periodically; a failing server leaves rotation until it passes.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// PassiveHealthCheck ejects a server for a while after real requests to it fail.
	PassiveHealthCheck *PassiveHealthCheck `json:"passiveHealthCheck,omitempty"`
	// ServersTransport names the http.serversTransports entry used to reach the
	// servers (name or name@provider); default: default@internal, the static
	// serversTransport section.
	ServersTransport string `json:"serversTransport,omitempty"`
}

// ResponseForwarding tunes response copying.
type ResponseForwarding struct {
	// FlushInterval is how often buffered response data is flushed; negative flushes after every write.
	FlushInterval Duration `json:"flushInterval,omitempty"`
}

// Server is one upstream server of a load balancer.
type Server struct {
	// URL is the server's address: http://host:port, https://…, or h2c://… for cleartext HTTP/2.
	URL string `json:"url,omitempty"`
	// Weight is the server's share relative to the others (default 1; 0 takes it out of rotation).
	Weight *int `json:"weight,omitempty"`
	// PreservePath keeps the path of URL in front of every request's path
	// (http://h/base + /x -> /base/x); by default, as in Traefik, a server URL's path is not used.
	PreservePath bool `json:"preservePath,omitempty"`
}

// TLS holds certificates and their stores.
type TLS struct {
	// Certificates are served on TLS entry points, chosen by SNI.
	Certificates []Certificate `json:"certificates,omitempty"`
	// Options are named sets of TLS handshake settings (versions, ciphers,
	// client certificates), chosen by routers with tls.options; "default"
	// applies to the routers that name none (tlsoptions.go).
	Options map[string]*TLSOptions `json:"options,omitempty"`
	// Stores hold the certificate served when none matches; only "default" is used.
	Stores map[string]*TLSStore `json:"stores,omitempty"`
}

// Certificate is a certificate and key pair, each a file path or PEM contents.
type Certificate struct {
	// CertFile is the path of (or the PEM text of) the certificate chain.
	CertFile string `json:"certFile,omitempty"`
	// KeyFile is the path of (or the PEM text of) the private key.
	KeyFile string `json:"keyFile,omitempty"`
}

// ServerWeight returns the server's weight, 1 when unset.
func (s Server) ServerWeight() int {
	if s.Weight == nil {
		return 1
	}
	return *s.Weight
}

// PassesHost reports whether the client's Host header is forwarded (default true).
func (lb *LoadBalancer) PassesHost() bool {
	return lb.PassHostHeader == nil || *lb.PassHostHeader
}
