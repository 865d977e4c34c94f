package config

// UDP is the datagram part of a configuration: routers that bind UDP entry
// points to services, and the services datagrams are forwarded to. UDP
// routers have no rule: a UDP entry point forwards every datagram to the
// service of its router.
type UDP struct {
	// Routers bind UDP entry points to a service, by router name.
	Routers map[string]*UDPRouter `json:"routers,omitempty"`
	// Services are the destinations of UDP routers, by service name.
	Services map[string]*UDPService `json:"services,omitempty"`
}

// UDPRouter sends the datagrams of its entry points to a UDP service.
type UDPRouter struct {
	// EntryPoints are the UDP entry points the router serves; empty means every
	// UDP entry point. An entry point serves one UDP router.
	EntryPoints []string `json:"entryPoints,omitempty"`
	// Service is the name of the UDP service that receives the datagrams.
	Service string `json:"service,omitempty"`
}

// UDPService is where a UDP router sends datagrams.
type UDPService struct {
	// LoadBalancer spreads client sessions across servers.
	LoadBalancer *UDPLoadBalancer `json:"loadBalancer,omitempty"`
}

// UDPLoadBalancer spreads sessions over a list of servers with smooth
// weighted round robin. A session is the exchange with one client address:
// every datagram of the session goes to the server chosen for its first one.
type UDPLoadBalancer struct {
	// Servers are the upstream servers.
	Servers []UDPServer `json:"servers,omitempty"`
}

// UDPServer is one upstream server of a UDP load balancer.
type UDPServer struct {
	// Address is the server's host:port.
	Address string `json:"address,omitempty"`
	// Weight is the server's share of sessions relative to the others
	// (default 1; 0 takes it out of rotation).
	Weight *int `json:"weight,omitempty"`
}

// ServerWeight returns the server's weight, 1 when unset.
func (s UDPServer) ServerWeight() int {
	if s.Weight == nil {
		return 1
	}
	return *s.Weight
}
