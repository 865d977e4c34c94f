package labels

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// udpDefaults applies the implicit UDP defaults once any UDP key is
// labelled: a UDP service named after the workload when none is labelled,
// the workload's server in every load balancer without servers, and a
// router's service filled in when there is exactly one. The port label is
// required: the ports a workload exposes are TCP ports.
func (b *builder) udpDefaults(shortcuts map[string]*server) {
	u := &b.cfg.UDP
	if len(u.Services) == 0 {
		u.Services = map[string]*config.UDPService{b.w.Name: {LoadBalancer: &config.UDPLoadBalancer{}}}
	}
	for name, svc := range u.Services {
		s := shortcuts[name]
		if svc.LoadBalancer == nil {
			if s == nil {
				continue
			}
			svc.LoadBalancer = &config.UDPLoadBalancer{}
		}
		if len(svc.LoadBalancer.Servers) > 0 {
			continue
		}
		if s == nil {
			s = &server{path: []string{"udp", "services", name, "loadbalancer", "server"}}
		}
		w, ok := b.weight(config.KindUDPService, name, s)
		if !ok {
			continue
		}
		if addr, ok := b.udpHostPort(name, s); ok {
			svc.LoadBalancer.Servers = []config.UDPServer{{Address: addr, Weight: w}}
		}
	}
	for name, r := range u.Routers {
		if r.Service != "" {
			continue
		}
		if len(u.Services) == 1 {
			for s := range u.Services {
				r.Service = s
			}
			continue
		}
		names := slices.Sorted(maps.Keys(u.Services))
		b.add(config.Problem{Kind: config.KindUDPRouter, Name: name, Field: "service",
			Message: fmt.Sprintf("no service: the workload defines %d UDP services (%s); set label %s.udp.routers.%s.service",
				len(names), strings.Join(names, ", "), b.o.Prefix, name)})
	}
}

// udpHostPort is where the workload serves one UDP service: Host and the
// port label.
func (b *builder) udpHostPort(name string, s *server) (string, bool) {
	if b.w.NoServers {
		return "", false
	}
	label := b.o.Prefix + "." + strings.Join(append(slices.Clip(s.path), "port"), ".")
	if s.port == nil {
		b.add(config.Problem{Kind: config.KindUDPService, Name: name, Field: "loadBalancer.server.port",
			Message: "no port: set label " + label + " (exposed ports are TCP ports)"})
		return "", false
	}
	port := strings.TrimSpace(s.port.Value)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		b.labelProblem(config.KindUDPService, name, append(slices.Clip(s.path), "port"), "not a port number")
		return "", false
	}
	if b.w.Published != nil {
		b.add(config.Problem{Kind: config.KindUDPService, Name: name, Field: "loadBalancer.server.port",
			Message: "UDP services need the workload's own address; published ports are TCP ports"})
		return "", false
	}
	return net.JoinHostPort(b.w.Host, port), true
}
