package router

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
	"github.com/ferryproxy/ferry/router/tcp"
)

// tcpTable is the layer 4 part of a Table.
type tcpTable struct {
	entries  []*tcp.Routes // by EntryPoint index; nil when the entry point has no TCP route
	services map[string]tcp.Service
	lbs      map[string]*tcp.LoadBalancer // load balancer services, reused by the next build when unchanged
	rules    map[string]*rule.TCPRule
	routers  map[string]*TCPRouterInfo
	svcInfo  map[string]*TCPServiceInfo
	mws      *tcpMiddlewares // build_tcp_middlewares.go
}

// TCPRouterInfo is a TCP router's definition and state, as the API shows it.
type TCPRouterInfo struct {
	*config.TCPRouter
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	Using    []string `json:"using,omitempty"`
}

// TCPServiceInfo is a TCP service's definition and state, as the API shows it.
type TCPServiceInfo struct {
	*config.TCPService
	Name         string            `json:"name"`
	Provider     string            `json:"provider"`
	Status       string            `json:"status"`
	Error        []string          `json:"error,omitempty"`
	UsedBy       []string          `json:"usedBy,omitempty"`
	ServerStatus map[string]string `json:"serverStatus,omitempty"`
}

// buildTCP builds the TCP routers and services. It runs after the HTTP
// routers, so it knows which entry points have HTTP routes.
func (b *builder) buildTCP() {
	tt := &tcpTable{
		entries:  make([]*tcp.Routes, len(b.opts.EntryPoints)),
		services: make(map[string]tcp.Service, len(b.cfg.TCP.Services)),
		lbs:      make(map[string]*tcp.LoadBalancer),
		rules:    make(map[string]*rule.TCPRule, len(b.cfg.TCP.Routers)),
		routers:  make(map[string]*TCPRouterInfo, len(b.cfg.TCP.Routers)),
		svcInfo:  make(map[string]*TCPServiceInfo, len(b.cfg.TCP.Services)),
	}
	b.table.tcp = tt
	var prev *tcpTable
	if b.prev != nil {
		prev = b.prev.tcp
	}
	for _, name := range sortedKeys(b.cfg.TCP.Services) {
		def := b.cfg.TCP.Services[name]
		tt.svcInfo[name] = &TCPServiceInfo{TCPService: def, Name: name, Provider: config.ProviderOf(name)}
		b.tcpService(name, prev, map[string]bool{})
	}
	tt.mws = b.buildTCPMiddlewares(prev)
	b.buildTCPRouters(prev)
	b.finishTCPMiddlewares(tt.mws)
	for name, info := range tt.routers {
		info.Status, info.Error = b.status(config.KindTCPRouter, name)
	}
	for name, info := range tt.svcInfo {
		info.Status, info.Error = b.status(config.KindTCPService, name)
	}
}

// tcpService returns the built service name, building it (and the services
// it depends on) first; nil when it is disabled.
func (b *builder) tcpService(name string, prev *tcpTable, visiting map[string]bool) tcp.Service {
	tt := b.table.tcp
	if s, ok := tt.services[name]; ok {
		return s
	}
	def := b.cfg.TCP.Services[name]
	if def == nil || visiting[name] || b.disabled(config.KindTCPService, name) {
		return nil
	}
	visiting[name] = true
	defer delete(visiting, name)
	fail := func(field, format string, args ...any) tcp.Service {
		b.problem(config.Problem{Kind: config.KindTCPService, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
		tt.services[name] = nil // reported once
		return nil
	}
	var svc tcp.Service
	switch {
	case def.LoadBalancer != nil:
		tr, ok := b.tcpServiceTransport(name, def.LoadBalancer) // transports.go
		if !ok {
			tt.services[name] = nil
			return nil
		}
		if prev != nil {
			if old := prev.lbs[name]; old != nil && old.Transport() == tr && (old.Definition() == def || reflect.DeepEqual(old.Definition(), def)) {
				tt.lbs[name] = old
				svc = old
				break
			}
		}
		lb, err := tcp.NewLoadBalancerWith(name, def, tr)
		if err != nil {
			return fail("loadBalancer", "%v", err)
		}
		tt.lbs[name] = lb
		svc = lb
	case def.Weighted != nil:
		members := make([]tcp.WeightedMember, 0, len(def.Weighted.Services))
		for i, m := range def.Weighted.Services {
			child := b.tcpService(m.Name, prev, visiting)
			if child == nil {
				return fail(fmt.Sprintf("weighted.services[%d].name", i), "TCP service %q is disabled", m.Name)
			}
			members = append(members, tcp.WeightedMember{Service: child, Weight: m.ServiceWeight()})
		}
		w, err := tcp.NewWeighted(name, members)
		if err != nil {
			return fail("weighted", "%v", err)
		}
		svc = w
	default:
		return nil
	}
	tt.services[name] = svc
	return svc
}

func (b *builder) buildTCPRouters(prev *tcpTable) {
	tt := b.table.tcp
	epIndex := make(map[string]int, len(b.opts.EntryPoints))
	for i, ep := range b.opts.EntryPoints {
		epIndex[ep.Name] = i
	}
	for _, name := range sortedKeys(b.cfg.TCP.Routers) {
		def := b.cfg.TCP.Routers[name]
		if def == nil {
			continue
		}
		info := &TCPRouterInfo{TCPRouter: def, Name: name, Provider: config.ProviderOf(name)}
		tt.routers[name] = info
		if svc := tt.svcInfo[def.Service]; svc != nil {
			svc.UsedBy = append(svc.UsedBy, name)
		}
		if _, exists := b.cfg.TCP.Services[def.Service]; exists && tt.services[def.Service] == nil {
			b.problem(config.Problem{Kind: config.KindTCPRouter, Name: name, Field: "service",
				Message: fmt.Sprintf("TCP service %q is disabled", def.Service)})
		}
		eps := b.routerEntryPoints(config.KindTCPRouter, name, def.EntryPoints, epIndex)
		compiled := b.compileTCPRule(name, def, prev)
		tlsConfig := b.tcpRouterTLS(name, def) // tlsoptions.go
		guards := b.tcpGuards(name, def, tt.mws)
		if b.disabled(config.KindTCPRouter, name) || compiled == nil {
			continue
		}
		r := &tcp.Route{Name: name, ServiceName: def.Service, Priority: def.Priority, Rule: compiled,
			TLS: def.TLS != nil, Passthrough: def.TLS != nil && def.TLS.Passthrough, Service: tt.services[def.Service],
			TLSConfig: tlsConfig, Guards: guards}
		if r.Priority == 0 {
			r.Priority = len(def.Rule)
		}
		for _, i := range eps {
			info.Using = append(info.Using, b.opts.EntryPoints[i].Name)
			if tt.entries[i] == nil {
				tt.entries[i] = &tcp.Routes{}
			}
			tt.entries[i].Add(r)
		}
	}
	for i, rs := range tt.entries {
		if rs == nil {
			continue
		}
		rs.Sort()
		e := &b.table.entries[i]
		rs.HTTP = !e.plain.empty() || !e.secure.empty()
	}
}

// compileTCPRule compiles a TCP router's rule, reusing the previous table's
// compilation of the same text. A router without tls may not name servers:
// connections without TLS have no server name.
func (b *builder) compileTCPRule(name string, def *config.TCPRouter, prev *tcpTable) *rule.TCPRule {
	text := def.Rule
	if text == "" {
		return nil
	}
	syn, ok := b.ruleSyntax(config.KindTCPRouter, name, def.RuleSyntax) // rules.go
	if !ok {
		return nil
	}
	key := ruleKey(syn, text)
	tt := b.table.tcp
	r := tt.rules[key]
	if r == nil && prev != nil {
		r = prev.rules[key]
	}
	if r == nil {
		var err error
		if r, err = rule.CompileTCPSyntax(text, syn); err != nil {
			b.problem(config.Problem{Kind: config.KindTCPRouter, Name: name, Field: "rule", Message: err.Error()})
			return nil
		}
	}
	tt.rules[key] = r
	if def.TLS == nil && len(r.Domains()) > 0 {
		b.problem(config.Problem{Kind: config.KindTCPRouter, Name: name, Field: "rule",
			Message: "a router without tls sees no server name: use HostSNI(`*`), or add tls"})
		return nil
	}
	return r
}

// tcpRoutes returns the TCP routes of entry point ep, nil when it has none.
func (t *Table) tcpRoutes(ep int) *tcp.Routes {
	if t.tcp == nil || ep >= len(t.tcp.entries) {
		return nil
	}
	return t.tcp.entries[ep]
}

// TCPRouters returns every TCP router, sorted by name.
func (t *Table) TCPRouters() []TCPRouterInfo {
	if t.tcp == nil {
		return []TCPRouterInfo{}
	}
	out := make([]TCPRouterInfo, 0, len(t.tcp.routers))
	for _, r := range t.tcp.routers {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TCPServices returns every TCP service with its servers' state, sorted by name.
func (t *Table) TCPServices() []TCPServiceInfo {
	if t.tcp == nil {
		return []TCPServiceInfo{}
	}
	out := make([]TCPServiceInfo, 0, len(t.tcp.svcInfo))
	for name, s := range t.tcp.svcInfo {
		info := *s
		if lb := t.tcp.lbs[name]; lb != nil {
			info.ServerStatus = lb.Servers()
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TCPRoutes returns a function that gives entry point ep's current TCP
// routes (nil when it has none), for the entry point's listener.
func (s *Switcher) TCPRoutes(ep int) func() *tcp.Routes {
	return func() *tcp.Routes { return s.table.Load().tcpRoutes(ep) }
}
