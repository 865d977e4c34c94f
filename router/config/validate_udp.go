package config

import "fmt"

// UDP object kinds: UDP routers and services have names of their own,
// independent of HTTP and TCP ones.
const (
	KindUDPRouter  Kind = "udpRouter"
	KindUDPService Kind = "udpService"
)

// validateUDP checks every UDP router and service of c on its own.
func validateUDP(c *Config) []Problem {
	var ps []Problem
	add := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for name, r := range c.UDP.Routers {
		if r == nil {
			continue
		}
		if r.Service == "" {
			add(KindUDPRouter, name, "service", "no service")
		} else if _, ok := c.UDP.Services[r.Service]; !ok {
			add(KindUDPRouter, name, "service", "UDP service %q does not exist", r.Service)
		}
	}
	for name, s := range c.UDP.Services {
		if s == nil {
			continue
		}
		lb := s.LoadBalancer
		if lb == nil {
			add(KindUDPService, name, "", "no loadBalancer")
			continue
		}
		if len(lb.Servers) == 0 {
			add(KindUDPService, name, "loadBalancer.servers", "no servers")
		}
		total := 0
		for i, srv := range lb.Servers {
			field := fmt.Sprintf("loadBalancer.servers[%d]", i)
			if err := checkTCPAddress(srv.Address); err != nil {
				add(KindUDPService, name, field+".address", "%v", err)
			}
			if srv.Weight != nil && *srv.Weight < 0 {
				add(KindUDPService, name, field+".weight", "negative weight %d", *srv.Weight)
			} else {
				total += srv.ServerWeight()
			}
		}
		if len(lb.Servers) > 0 && total == 0 {
			add(KindUDPService, name, "loadBalancer.servers", "every server has weight 0")
		}
	}
	return ps
}

// qualifiedUDP returns the UDP part of a configuration with every name and
// reference qualified by q.
func qualifiedUDP(in UDP, q func(string) string) UDP {
	var out UDP
	if len(in.Routers) > 0 {
		out.Routers = make(map[string]*UDPRouter, len(in.Routers))
		for name, r := range in.Routers {
			if r == nil {
				continue
			}
			cp := *r
			cp.Service = q(r.Service)
			out.Routers[q(name)] = &cp
		}
	}
	if len(in.Services) > 0 {
		out.Services = make(map[string]*UDPService, len(in.Services))
		for name, s := range in.Services {
			if s != nil {
				out.Services[q(name)] = s
			}
		}
	}
	return out
}
