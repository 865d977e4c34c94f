package labels

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// tcpDefaults applies the implicit TCP defaults once any TCP key is
// labelled: a TCP service named after the workload when none is labelled,
// the workload's server in every load balancer without servers, and a
// router's service filled in when there is exactly one.
func (b *builder) tcpDefaults(shortcuts map[string]*server) {
	t := &b.cfg.TCP
	if len(t.Services) == 0 {
		t.Services = map[string]*config.TCPService{b.w.Name: {LoadBalancer: &config.TCPLoadBalancer{}}}
	}
	for name, svc := range t.Services {
		s := shortcuts[name]
		if svc.LoadBalancer == nil {
			if s == nil {
				continue
			}
			svc.LoadBalancer = &config.TCPLoadBalancer{}
		}
		if len(svc.LoadBalancer.Servers) > 0 {
			continue
		}
		if s == nil {
			s = &server{path: []string{"tcp", "services", name, "loadbalancer", "server"}}
		}
		w, ok := b.weight(config.KindTCPService, name, s)
		if !ok {
			continue
		}
		if addr, ok := b.hostPort(config.KindTCPService, name, s); ok {
			svc.LoadBalancer.Servers = []config.TCPServer{{Address: addr, Weight: w}}
		}
	}
	for name, r := range t.Routers {
		path := []string{"tcp", "routers", name, "rule"}
		if r.Rule != "" {
			if err := checkRule(r.Rule, r.RuleSyntax, true); err != nil { // rules.go
				b.labelProblem(config.KindTCPRouter, name, path, err.Error())
			}
		}
		if r.Service != "" {
			continue
		}
		if len(t.Services) == 1 {
			for s := range t.Services {
				r.Service = s
			}
			continue
		}
		names := slices.Sorted(maps.Keys(t.Services))
		b.add(config.Problem{Kind: config.KindTCPRouter, Name: name, Field: "service",
			Message: fmt.Sprintf("no service: the workload defines %d TCP services (%s); set label %s.tcp.routers.%s.service",
				len(names), strings.Join(names, ", "), b.o.Prefix, name)})
	}
}
