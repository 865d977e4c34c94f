package router

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/udp"
)

// udpTable is the datagram part of a Table.
type udpTable struct {
	entries []*udp.Route                 // by UDP entry point index; nil when no router serves it
	lbs     map[string]*udp.LoadBalancer // built services, reused by the next build when unchanged
	routers map[string]*UDPRouterInfo
	svcInfo map[string]*UDPServiceInfo
}

// UDPRouterInfo is a UDP router's definition and state, as the API shows it.
type UDPRouterInfo struct {
	*config.UDPRouter
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	Using    []string `json:"using,omitempty"`
}

// UDPServiceInfo is a UDP service's definition and state, as the API shows it.
type UDPServiceInfo struct {
	*config.UDPService
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// buildUDP builds the UDP routers and services. A service whose definition
// did not change is carried over from the previous table, so the sessions
// it serves survive the swap.
func (b *builder) buildUDP() {
	ut := &udpTable{
		entries: make([]*udp.Route, len(b.opts.UDPEntryPoints)),
		lbs:     make(map[string]*udp.LoadBalancer, len(b.cfg.UDP.Services)),
		routers: make(map[string]*UDPRouterInfo, len(b.cfg.UDP.Routers)),
		svcInfo: make(map[string]*UDPServiceInfo, len(b.cfg.UDP.Services)),
	}
	b.table.udp = ut
	var prev *udpTable
	if b.prev != nil {
		prev = b.prev.udp
	}
	for _, name := range sortedKeys(b.cfg.UDP.Services) {
		def := b.cfg.UDP.Services[name]
		if def == nil {
			continue
		}
		ut.svcInfo[name] = &UDPServiceInfo{UDPService: def, Name: name, Provider: config.ProviderOf(name)}
		if b.disabled(config.KindUDPService, name) {
			continue
		}
		if prev != nil {
			if old := prev.lbs[name]; old != nil && (old.Definition() == def || reflect.DeepEqual(old.Definition(), def)) {
				ut.lbs[name] = old
				continue
			}
		}
		lb, err := udp.NewLoadBalancer(name, def)
		if err != nil {
			b.problem(config.Problem{Kind: config.KindUDPService, Name: name, Field: "loadBalancer", Message: err.Error()})
			continue
		}
		ut.lbs[name] = lb
	}
	b.buildUDPRouters()
	for name, info := range ut.routers {
		info.Status, info.Error = b.status(config.KindUDPRouter, name)
	}
	for name, info := range ut.svcInfo {
		info.Status, info.Error = b.status(config.KindUDPService, name)
	}
}

// buildUDPRouters binds each UDP router to its entry points. An entry point
// serves one router: the first by name keeps it, the others are told.
func (b *builder) buildUDPRouters() {
	ut := b.table.udp
	epIndex := make(map[string]int, len(b.opts.UDPEntryPoints))
	for i, ep := range b.opts.UDPEntryPoints {
		epIndex[ep] = i
	}
	for _, name := range sortedKeys(b.cfg.UDP.Routers) {
		def := b.cfg.UDP.Routers[name]
		if def == nil {
			continue
		}
		info := &UDPRouterInfo{UDPRouter: def, Name: name, Provider: config.ProviderOf(name)}
		ut.routers[name] = info
		if svc := ut.svcInfo[def.Service]; svc != nil {
			svc.UsedBy = append(svc.UsedBy, name)
		}
		if _, exists := b.cfg.UDP.Services[def.Service]; exists && ut.lbs[def.Service] == nil {
			b.problem(config.Problem{Kind: config.KindUDPRouter, Name: name, Field: "service",
				Message: fmt.Sprintf("UDP service %q is disabled", def.Service)})
		}
		var eps []int
		if len(def.EntryPoints) == 0 {
			for i := range b.opts.UDPEntryPoints {
				eps = append(eps, i)
			}
			if len(eps) == 0 {
				b.problem(config.Problem{Kind: config.KindUDPRouter, Name: name, Field: "entryPoints",
					Message: "no UDP entry point (declare one with address host:port/udp)"})
			}
		}
		for i, ep := range def.EntryPoints {
			idx, ok := epIndex[ep]
			if !ok {
				b.problem(config.Problem{Kind: config.KindUDPRouter, Name: name, Field: fmt.Sprintf("entryPoints[%d]", i),
					Message: fmt.Sprintf("UDP entry point %q does not exist", ep)})
				continue
			}
			eps = append(eps, idx)
		}
		if b.disabled(config.KindUDPRouter, name) {
			continue
		}
		taken := false
		for _, i := range eps {
			if other := ut.entries[i]; other != nil {
				taken = true
				b.problem(config.Problem{Kind: config.KindUDPRouter, Name: name, Field: "entryPoints",
					Message: fmt.Sprintf("UDP entry point %q is already served by router %q", b.opts.UDPEntryPoints[i], other.Name)})
			}
		}
		if taken {
			continue
		}
		r := &udp.Route{Name: name, ServiceName: def.Service, Service: ut.lbs[def.Service]}
		for _, i := range eps {
			ut.entries[i] = r
			info.Using = append(info.Using, b.opts.UDPEntryPoints[i])
		}
	}
}

// udpRoute returns the route of UDP entry point ep, nil when it has none.
func (t *Table) udpRoute(ep int) *udp.Route {
	if t.udp == nil || ep >= len(t.udp.entries) {
		return nil
	}
	return t.udp.entries[ep]
}

// UDPRouters returns every UDP router, sorted by name.
func (t *Table) UDPRouters() []UDPRouterInfo {
	if t.udp == nil {
		return []UDPRouterInfo{}
	}
	out := make([]UDPRouterInfo, 0, len(t.udp.routers))
	for _, r := range t.udp.routers {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UDPServices returns every UDP service, sorted by name.
func (t *Table) UDPServices() []UDPServiceInfo {
	if t.udp == nil {
		return []UDPServiceInfo{}
	}
	out := make([]UDPServiceInfo, 0, len(t.udp.svcInfo))
	for _, s := range t.udp.svcInfo {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UDPRoute returns a function that gives UDP entry point ep's current
// route (nil when no router serves it), for the entry point's listener.
func (s *Switcher) UDPRoute(ep int) func() *udp.Route {
	return func() *udp.Route { return s.table.Load().udpRoute(ep) }
}
