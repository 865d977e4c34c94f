package labels

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// Part is one workload's result, for Merge.
type Part struct {
	// Origin names the workload, e.g. container "web-1".
	Origin string
	// Config is what Build returned; nil parts are skipped.
	Config *config.Config
	// Problems are what Build returned.
	Problems []config.Problem
}

// Merged is the combined view of many workloads.
type Merged struct {
	// Config holds every object of every part.
	Config *config.Config
	// Problems are the parts' problems and the conflicts between parts.
	Problems []config.Problem
	// Origins names the workloads that define each object.
	Origins map[config.ObjectID]string
}

// maxOrigins bounds how many workloads an origin lists.
const maxOrigins = 3

// Merge combines the parts, in Origin order. A service defined by several
// workloads with the same settings (replicas) gets the servers of all of
// them; routers and middlewares defined the same way are kept once. An
// object defined differently by two workloads is a problem naming both,
// which disables it.
func Merge(parts []Part) *Merged {
	parts = slices.Clone(parts)
	slices.SortStableFunc(parts, func(a, b Part) int { return strings.Compare(a.Origin, b.Origin) })
	m := &Merged{Config: &config.Config{}, Origins: map[config.ObjectID]string{}}
	origins := map[config.ObjectID][]string{}
	conflict := map[config.ObjectID]bool{}
	note := func(kind config.Kind, name, origin string, same bool) {
		id := config.ObjectID{Kind: kind, Name: name}
		prev := origins[id]
		if !same && !conflict[id] {
			conflict[id] = true
			m.Problems = append(m.Problems, config.Problem{Kind: kind, Name: name,
				Message: fmt.Sprintf("defined differently by %s and %s", prev[0], origin), Origin: origin})
		}
		origins[id] = append(prev, origin)
	}
	for _, p := range parts {
		m.Problems = append(m.Problems, p.Problems...)
		if p.Config == nil {
			continue
		}
		c := p.Config
		for _, name := range slices.Sorted(maps.Keys(c.HTTP.Routers)) {
			r := c.HTTP.Routers[name]
			if have, ok := m.Config.HTTP.Routers[name]; ok {
				note(config.KindRouter, name, p.Origin, reflect.DeepEqual(have, r))
				continue
			}
			setMap(&m.Config.HTTP.Routers, name, r)
			origins[config.ObjectID{Kind: config.KindRouter, Name: name}] = []string{p.Origin}
		}
		for _, name := range slices.Sorted(maps.Keys(c.HTTP.Middlewares)) {
			mw := c.HTTP.Middlewares[name]
			if have, ok := m.Config.HTTP.Middlewares[name]; ok {
				note(config.KindMiddleware, name, p.Origin, reflect.DeepEqual(have, mw))
				continue
			}
			setMap(&m.Config.HTTP.Middlewares, name, mw)
			origins[config.ObjectID{Kind: config.KindMiddleware, Name: name}] = []string{p.Origin}
		}
		for _, name := range slices.Sorted(maps.Keys(c.HTTP.Services)) {
			s := c.HTTP.Services[name]
			have, ok := m.Config.HTTP.Services[name]
			if !ok {
				cp := *s
				if s.LoadBalancer != nil {
					lb := *s.LoadBalancer
					lb.Servers = slices.Clone(lb.Servers)
					cp.LoadBalancer = &lb
				}
				setMap(&m.Config.HTTP.Services, name, &cp)
				origins[config.ObjectID{Kind: config.KindService, Name: name}] = []string{p.Origin}
				continue
			}
			same := sameService(have, s)
			note(config.KindService, name, p.Origin, same)
			if same && have.LoadBalancer != nil {
				have.LoadBalancer.Servers = append(have.LoadBalancer.Servers, s.LoadBalancer.Servers...)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(c.TCP.Routers)) {
			r := c.TCP.Routers[name]
			if have, ok := m.Config.TCP.Routers[name]; ok {
				note(config.KindTCPRouter, name, p.Origin, reflect.DeepEqual(have, r))
				continue
			}
			setMap(&m.Config.TCP.Routers, name, r)
			origins[config.ObjectID{Kind: config.KindTCPRouter, Name: name}] = []string{p.Origin}
		}
		for _, name := range slices.Sorted(maps.Keys(c.TCP.Services)) {
			s := c.TCP.Services[name]
			have, ok := m.Config.TCP.Services[name]
			if !ok {
				cp := *s
				if s.LoadBalancer != nil {
					lb := *s.LoadBalancer
					lb.Servers = slices.Clone(lb.Servers)
					cp.LoadBalancer = &lb
				}
				setMap(&m.Config.TCP.Services, name, &cp)
				origins[config.ObjectID{Kind: config.KindTCPService, Name: name}] = []string{p.Origin}
				continue
			}
			same := sameTCPService(have, s)
			note(config.KindTCPService, name, p.Origin, same)
			if same && have.LoadBalancer != nil {
				have.LoadBalancer.Servers = append(have.LoadBalancer.Servers, s.LoadBalancer.Servers...)
			}
		}
		mergeUDP(m, c, p.Origin, note, origins)
		m.Config.TLS.Certificates = append(m.Config.TLS.Certificates, c.TLS.Certificates...)
	}
	for _, s := range m.Config.HTTP.Services {
		if s.LoadBalancer != nil {
			slices.SortStableFunc(s.LoadBalancer.Servers, func(a, b config.Server) int { return strings.Compare(a.URL, b.URL) })
		}
	}
	for _, s := range m.Config.TCP.Services {
		if s.LoadBalancer != nil {
			slices.SortStableFunc(s.LoadBalancer.Servers, func(a, b config.TCPServer) int { return strings.Compare(a.Address, b.Address) })
		}
	}
	sortUDPServers(m)
	for id, os := range origins {
		m.Origins[id] = joinOrigins(os)
	}
	config.SortProblems(m.Problems)
	return m
}

// sameService reports whether a and b differ only in their servers.
func sameService(a, b *config.Service) bool {
	ac, bc := *a, *b
	if a.LoadBalancer != nil && b.LoadBalancer != nil {
		al, bl := *a.LoadBalancer, *b.LoadBalancer
		al.Servers, bl.Servers = nil, nil
		ac.LoadBalancer, bc.LoadBalancer = &al, &bl
	}
	return reflect.DeepEqual(ac, bc)
}

// sameTCPService reports whether a and b differ only in their servers.
func sameTCPService(a, b *config.TCPService) bool {
	ac, bc := *a, *b
	if a.LoadBalancer != nil && b.LoadBalancer != nil {
		al, bl := *a.LoadBalancer, *b.LoadBalancer
		al.Servers, bl.Servers = nil, nil
		ac.LoadBalancer, bc.LoadBalancer = &al, &bl
	}
	return reflect.DeepEqual(ac, bc)
}

func setMap[T any](m *map[string]T, k string, v T) {
	if *m == nil {
		*m = map[string]T{}
	}
	(*m)[k] = v
}

func joinOrigins(os []string) string {
	if len(os) <= maxOrigins {
		return strings.Join(os, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(os[:maxOrigins], ", "), len(os)-maxOrigins)
}
