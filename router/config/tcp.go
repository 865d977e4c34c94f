package config

// TCP is the layer 4 part of a configuration: routers that pick TCP
// connections by TLS server name (or take every connection) and the services
// they are forwarded to.
type TCP struct {
	// Routers match connections and send them to a service, by router name.
	Routers map[string]*TCPRouter `json:"routers,omitempty"`
	// Services are the destinations of TCP routers, by service name.
	Services map[string]*TCPService `json:"services,omitempty"`
	// ServersTransports configure the connections to servers (timeouts, TLS
	// towards the servers), by name; services name one in loadBalancer.serversTransport.
	ServersTransports map[string]*TCPServersTransport `json:"serversTransports,omitempty"`
	// Middlewares act on connections before they reach a service (ipAllowList,
	// inFlightConn), by name; routers name them in middlewares (tcp_middleware.go).
	Middlewares map[string]*TCPMiddleware `json:"middlewares,omitempty"`
}

// TCPRouter matches connections with a rule and hands them to a TCP service.
type TCPRouter struct {
	// Rule is the matching expression over HostSNI, HostSNIRegexp, ClientIP and ALPN,
	// e.g. HostSNI(`db.example.com`); HostSNI(`*`) takes every connection.
	Rule string `json:"rule,omitempty"`
	// RuleSyntax is the rule language the rule is written in: v3, or v2 (several
	// values per matcher, {name:re} templates in HostSNIRegexp); empty means
	// core.defaultRuleSyntax, else v3.
	RuleSyntax string `json:"ruleSyntax,omitempty"`
	// EntryPoints restricts the router to these entry points; empty means all entry points.
	EntryPoints []string `json:"entryPoints,omitempty"`
	// Service is the name of the TCP service that receives matching connections.
	Service string `json:"service,omitempty"`
	// Priority orders routers; higher is tried first. Zero means the rule's length.
	Priority int `json:"priority,omitempty"`
	// Middlewares are the TCP middlewares every connection goes through, in order.
	Middlewares []string `json:"middlewares,omitempty"`
	// TLS, when set, makes the router match TLS connections (by SNI); without it the
	// router takes connections that do not start with TLS, and its rule must be HostSNI(`*`).
	TLS *TCPRouterTLS `json:"tls,omitempty"`
}

// TCPRouterTLS is a TCP router's TLS section.
type TCPRouterTLS struct {
	// Passthrough forwards the TLS bytes untouched, so the server's own certificate is
	// seen by the client; otherwise Ferry terminates TLS and forwards plaintext.
	Passthrough bool `json:"passthrough,omitempty"`
	// CertResolver names the certificate resolver that obtains certificates for the
	// router's names (termination only).
	CertResolver string `json:"certResolver,omitempty"`
	// Domains overrides the names taken from the rule for certificate requests.
	Domains []Domain `json:"domains,omitempty"`
	// Options names a TLS options set.
	Options string `json:"options,omitempty"`
}

// TCPService is where a TCP router sends connections. Exactly one kind is set.
type TCPService struct {
	// LoadBalancer spreads connections across servers.
	LoadBalancer *TCPLoadBalancer `json:"loadBalancer,omitempty"`
	// Weighted spreads connections across other TCP services by weight.
	Weighted *TCPWeighted `json:"weighted,omitempty"`
}

// TCPLoadBalancer spreads connections over a list of servers with smooth
// weighted round robin; a server that refuses the connection is skipped.
type TCPLoadBalancer struct {
	// Servers are the upstream servers.
	Servers []TCPServer `json:"servers,omitempty"`
	// ProxyProtocol, when set, sends a PROXY protocol header to the servers.
	ProxyProtocol *ProxyProtocol `json:"proxyProtocol,omitempty"`
	// TerminationDelay bounds how long the other direction may keep running once one
	// side has closed its half of the connection; zero leaves it to the idle timeout.
	// A bare number is milliseconds, as in Traefik (100 is 100ms).
	TerminationDelay DurationMS `json:"terminationDelay,omitempty"`
	// ServersTransport names the tcp.serversTransports entry used to reach the
	// servers (name or name@provider); default: default@internal, the static
	// tcpServersTransport section.
	ServersTransport string `json:"serversTransport,omitempty"`
}

// TCPServer is one upstream server of a TCP load balancer.
type TCPServer struct {
	// Address is the server's host:port.
	Address string `json:"address,omitempty"`
	// Weight is the server's share relative to the others (default 1; 0 takes it out of rotation).
	Weight *int `json:"weight,omitempty"`
}

// ProxyProtocol configures the PROXY protocol header sent to servers.
type ProxyProtocol struct {
	// Version is 1 (text) or 2 (binary); default 2.
	Version int `json:"version,omitempty"`
}

// TCPWeighted spreads connections across TCP services.
type TCPWeighted struct {
	// Services are the TCP services with their weights.
	Services []TCPWeightedService `json:"services,omitempty"`
}

// TCPWeightedService is one member of a weighted TCP service.
type TCPWeightedService struct {
	// Name is the member service's name.
	Name string `json:"name,omitempty"`
	// Weight is the member's share (default 1; 0 takes it out of rotation).
	Weight *int `json:"weight,omitempty"`
}

// ServerWeight returns the server's weight, 1 when unset.
func (s TCPServer) ServerWeight() int {
	if s.Weight == nil {
		return 1
	}
	return *s.Weight
}

// ServiceWeight returns the member's weight, 1 when unset.
func (w TCPWeightedService) ServiceWeight() int {
	if w.Weight == nil {
		return 1
	}
	return *w.Weight
}

// ProxyProtocolVersion returns the PROXY protocol version to send, 0 for none.
func (lb *TCPLoadBalancer) ProxyProtocolVersion() int {
	if lb.ProxyProtocol == nil {
		return 0
	}
	if lb.ProxyProtocol.Version == 0 {
		return 2
	}
	return lb.ProxyProtocol.Version
}
