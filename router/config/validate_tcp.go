package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// TCP object kinds: TCP routers and services have names of their own,
// independent of HTTP ones.
const (
	KindTCPRouter  Kind = "tcpRouter"
	KindTCPService Kind = "tcpService"
)

// validateTCP checks every TCP router and service of c on its own.
func validateTCP(c *Config) []Problem {
	var ps []Problem
	add := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for name, r := range c.TCP.Routers {
		if r == nil {
			continue
		}
		if strings.TrimSpace(r.Rule) == "" {
			add(KindTCPRouter, name, "rule", "no rule")
		}
		if r.Service == "" {
			add(KindTCPRouter, name, "service", "no service")
		} else if _, ok := c.TCP.Services[r.Service]; !ok {
			add(KindTCPRouter, name, "service", "TCP service %q does not exist", r.Service)
		}
		if r.Priority < 0 {
			add(KindTCPRouter, name, "priority", "negative priority %d", r.Priority)
		}
	}
	for name, s := range c.TCP.Services {
		if s == nil {
			continue
		}
		validateTCPService(name, s, c.TCP.Services, add)
	}
	return ps
}

func validateTCPService(name string, s *TCPService, all map[string]*TCPService, add func(Kind, string, string, string, ...any)) {
	if (s.LoadBalancer != nil) == (s.Weighted != nil) {
		add(KindTCPService, name, "", "want exactly one of loadBalancer or weighted")
	}
	if lb := s.LoadBalancer; lb != nil {
		for i, srv := range lb.Servers {
			field := fmt.Sprintf("loadBalancer.servers[%d]", i)
			if err := checkTCPAddress(srv.Address); err != nil {
				add(KindTCPService, name, field+".address", "%v", err)
			}
			if srv.Weight != nil && *srv.Weight < 0 {
				add(KindTCPService, name, field+".weight", "negative weight %d", *srv.Weight)
			}
		}
		if pp := lb.ProxyProtocol; pp != nil && pp.Version != 0 && pp.Version != 1 && pp.Version != 2 {
			add(KindTCPService, name, "loadBalancer.proxyProtocol.version", "version %d is not 1 or 2", pp.Version)
		}
		if lb.TerminationDelay < 0 {
			add(KindTCPService, name, "loadBalancer.terminationDelay", "negative duration")
		}
	}
	if w := s.Weighted; w != nil {
		if len(w.Services) == 0 {
			add(KindTCPService, name, "weighted.services", "no services")
		}
		for i, m := range w.Services {
			field := fmt.Sprintf("weighted.services[%d]", i)
			if _, ok := all[m.Name]; !ok {
				add(KindTCPService, name, field+".name", "TCP service %q does not exist", m.Name)
			}
			if m.Weight != nil && *m.Weight < 0 {
				add(KindTCPService, name, field+".weight", "negative weight %d", *m.Weight)
			}
		}
		if tcpCycle(name, all) {
			add(KindTCPService, name, "weighted.services", "services refer to each other in a cycle")
		}
	}
}

// tcpCycle reports whether weighted service name reaches itself.
func tcpCycle(name string, all map[string]*TCPService) bool {
	seen := map[string]bool{}
	var reaches func(n string) bool
	reaches = func(n string) bool {
		s := all[n]
		if s == nil || s.Weighted == nil || seen[n] {
			return false
		}
		seen[n] = true
		for _, m := range s.Weighted.Services {
			if m.Name == name || reaches(m.Name) {
				return true
			}
		}
		return false
	}
	return reaches(name)
}

// checkTCPAddress checks a server's host:port.
func checkTCPAddress(addr string) error {
	if addr == "" {
		return fmt.Errorf("missing")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("invalid address %q: no host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("invalid address %q: port must be 1 to 65535", addr)
	}
	return nil
}

// qualifiedTCP returns the TCP part of a configuration with every name and
// reference qualified by q.
func qualifiedTCP(in TCP, q func(string) string) TCP {
	var out TCP
	out.Middlewares = qualifiedTCPMiddlewares(in.Middlewares, q) // tcp_middleware.go
	if len(in.Routers) > 0 {
		out.Routers = make(map[string]*TCPRouter, len(in.Routers))
		for name, r := range in.Routers {
			if r == nil {
				continue
			}
			cp := *r
			cp.Service = q(r.Service)
			cp.Middlewares = qualifiedNames(r.Middlewares, q) // tcp_middleware.go
			out.Routers[q(name)] = &cp
		}
	}
	if len(in.Services) > 0 {
		out.Services = make(map[string]*TCPService, len(in.Services))
		for name, s := range in.Services {
			if s == nil {
				continue
			}
			if s.Weighted != nil {
				cp := *s
				w := *s.Weighted
				w.Services = make([]TCPWeightedService, len(s.Weighted.Services))
				for i, m := range s.Weighted.Services {
					m.Name = q(m.Name)
					w.Services[i] = m
				}
				cp.Weighted = &w
				s = &cp
			}
			out.Services[q(name)] = withQualifiedTCPTransport(s, q)
		}
	}
	return out
}
