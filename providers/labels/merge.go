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
	mg := &merger{
		m:        &Merged{Config: &config.Config{}, Origins: map[config.ObjectID]string{}},
		origins:  map[config.ObjectID][]string{},
		conflict: map[config.ObjectID]bool{},
	}
	dst := mg.m.Config
	for _, p := range parts {
		mg.m.Problems = append(mg.m.Problems, p.Problems...)
		if p.Config == nil {
			continue
		}
		c := p.Config
		mergeObjects(mg, config.KindRouter, &dst.HTTP.Routers, c.HTTP.Routers, p.Origin)
		mergeObjects(mg, config.KindMiddleware, &dst.HTTP.Middlewares, c.HTTP.Middlewares, p.Origin)
		mergeObjects(mg, config.KindServersTransport, &dst.HTTP.ServersTransports, c.HTTP.ServersTransports, p.Origin)
		mergeObjects(mg, config.KindTCPServersTransport, &dst.TCP.ServersTransports, c.TCP.ServersTransports, p.Origin)
		mergeServices(mg, config.KindService, &dst.HTTP.Services, c.HTTP.Services, p.Origin, httpService)
		mergeObjects(mg, config.KindTCPRouter, &dst.TCP.Routers, c.TCP.Routers, p.Origin)
		mergeObjects(mg, config.KindTCPMiddleware, &dst.TCP.Middlewares, c.TCP.Middlewares, p.Origin)
		mergeServices(mg, config.KindTCPService, &dst.TCP.Services, c.TCP.Services, p.Origin, tcpService)
		mergeObjects(mg, config.KindUDPRouter, &dst.UDP.Routers, c.UDP.Routers, p.Origin)
		mergeServices(mg, config.KindUDPService, &dst.UDP.Services, c.UDP.Services, p.Origin, udpService)
		dst.TLS.Certificates = append(dst.TLS.Certificates, c.TLS.Certificates...)
	}
	sortServers(dst.HTTP.Services, httpService, func(s config.Server) string { return s.URL })
	sortServers(dst.TCP.Services, tcpService, func(s config.TCPServer) string { return s.Address })
	sortServers(dst.UDP.Services, udpService, func(s config.UDPServer) string { return s.Address })
	for id, os := range mg.origins {
		mg.m.Origins[id] = joinOrigins(os)
	}
	config.SortProblems(mg.m.Problems)
	return mg.m
}

// merger is the state of one Merge: which workloads define each object and
// which objects are already in conflict.
type merger struct {
	m        *Merged
	origins  map[config.ObjectID][]string
	conflict map[config.ObjectID]bool
}

// add records that origin defines an object already merged; when its
// definition differs (!same), the object gets one problem naming both.
func (mg *merger) add(kind config.Kind, name, origin string, same bool) {
	id := config.ObjectID{Kind: kind, Name: name}
	prev := mg.origins[id]
	if !same && !mg.conflict[id] {
		mg.conflict[id] = true
		mg.m.Problems = append(mg.m.Problems, config.Problem{Kind: kind, Name: name,
			Message: fmt.Sprintf("defined differently by %s and %s", prev[0], origin), Origin: origin})
	}
	mg.origins[id] = append(prev, origin)
}

// mergeObjects adds src's objects to *dst; an object defined again is kept
// once, and a different definition is a conflict.
func mergeObjects[T any](mg *merger, kind config.Kind, dst *map[string]*T, src map[string]*T, origin string) {
	for _, name := range slices.Sorted(maps.Keys(src)) {
		v := src[name]
		if have, ok := (*dst)[name]; ok {
			mg.add(kind, name, origin, reflect.DeepEqual(have, v))
			continue
		}
		setMap(dst, name, v)
		mg.origins[config.ObjectID{Kind: kind, Name: name}] = []string{origin}
	}
}

// pooledService tells mergeServices how to reach a service type's servers.
type pooledService[S, V any] struct {
	// clone copies a service and its load balancer, with its own server list.
	clone func(*S) *S
	// servers is the service's server list, nil without a load balancer.
	servers func(*S) *[]V
}

var (
	httpService = pooledService[config.Service, config.Server]{
		clone: func(s *config.Service) *config.Service {
			cp := *s
			if s.LoadBalancer != nil {
				lb := *s.LoadBalancer
				lb.Servers = slices.Clone(lb.Servers)
				cp.LoadBalancer = &lb
			}
			return &cp
		},
		servers: func(s *config.Service) *[]config.Server {
			if s.LoadBalancer == nil {
				return nil
			}
			return &s.LoadBalancer.Servers
		},
	}
	tcpService = pooledService[config.TCPService, config.TCPServer]{
		clone: func(s *config.TCPService) *config.TCPService {
			cp := *s
			if s.LoadBalancer != nil {
				lb := *s.LoadBalancer
				lb.Servers = slices.Clone(lb.Servers)
				cp.LoadBalancer = &lb
			}
			return &cp
		},
		servers: func(s *config.TCPService) *[]config.TCPServer {
			if s.LoadBalancer == nil {
				return nil
			}
			return &s.LoadBalancer.Servers
		},
	}
	udpService = pooledService[config.UDPService, config.UDPServer]{
		clone: func(s *config.UDPService) *config.UDPService {
			cp := *s
			if s.LoadBalancer != nil {
				lb := *s.LoadBalancer
				lb.Servers = slices.Clone(lb.Servers)
				cp.LoadBalancer = &lb
			}
			return &cp
		},
		servers: func(s *config.UDPService) *[]config.UDPServer {
			if s.LoadBalancer == nil {
				return nil
			}
			return &s.LoadBalancer.Servers
		},
	}
)

// mergeServices adds src's services to *dst. A service defined again with
// the same settings (replicas) gets the servers of both; different settings
// are a conflict.
func mergeServices[S, V any](mg *merger, kind config.Kind, dst *map[string]*S, src map[string]*S, origin string, k pooledService[S, V]) {
	for _, name := range slices.Sorted(maps.Keys(src)) {
		s := src[name]
		have, ok := (*dst)[name]
		if !ok {
			setMap(dst, name, k.clone(s))
			mg.origins[config.ObjectID{Kind: kind, Name: name}] = []string{origin}
			continue
		}
		same := sameExceptServers(have, s, k)
		mg.add(kind, name, origin, same)
		if haveServers := k.servers(have); same && haveServers != nil {
			*haveServers = append(*haveServers, *k.servers(s)...)
		}
	}
}

// sameExceptServers reports whether a and b differ only in their servers.
func sameExceptServers[S, V any](a, b *S, k pooledService[S, V]) bool {
	ac, bc := k.clone(a), k.clone(b)
	if as, bs := k.servers(ac), k.servers(bc); as != nil && bs != nil {
		*as, *bs = nil, nil
	}
	return reflect.DeepEqual(ac, bc)
}

// sortServers orders every service's servers by key, so the merged view
// does not depend on the order workloads were seen in.
func sortServers[S, V any](services map[string]*S, k pooledService[S, V], key func(V) string) {
	for _, s := range services {
		if servers := k.servers(s); servers != nil {
			slices.SortStableFunc(*servers, func(a, b V) int { return strings.Compare(key(a), key(b)) })
		}
	}
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
