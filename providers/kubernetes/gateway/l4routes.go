package gateway

import (
	"fmt"
	"slices"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// l4Group is the part of a TLS or TCP route served on one port in one TLS
// mode.
type l4Group struct {
	port        int32
	eps         []string
	passthrough bool
	hosts       []string
}

// groupL4 merges a route's attachments by port and TLS mode.
func groupL4(atts []attachment) []*l4Group {
	type key struct {
		port int32
		pass bool
	}
	by := map[key]*l4Group{}
	var out []*l4Group
	for _, a := range atts {
		if !a.l.programmed() {
			continue
		}
		k := key{a.l.spec.Port, a.l.passthrough()}
		g := by[k]
		if g == nil {
			g = &l4Group{port: k.port, eps: a.l.eps, passthrough: k.pass}
			by[k] = g
			out = append(out, g)
		}
		g.hosts = append(g.hosts, a.hosts...)
	}
	for _, g := range out {
		slices.Sort(g.hosts)
		g.hosts = slices.Compact(g.hosts)
	}
	slices.SortFunc(out, func(a, b *l4Group) int {
		if a.port != b.port {
			return int(a.port) - int(b.port)
		}
		return boolInt(a.passthrough) - boolInt(b.passthrough)
	})
	return out
}

// l4Rule returns the backendRefs of the single rule of a TLS, TCP or UDP
// route.
func l4Rule[R any](rules []R, refs func(R) []gwv1.BackendRef) []gwv1.BackendRef {
	if len(rules) == 0 {
		return nil
	}
	return refs(rules[0])
}

// tlsRoute translates one TLSRoute into TCP routers that pick connections
// by server name, passing TLS through or terminating it as the listener
// says.
func (b *builder) tlsRoute(r *gwv1.TLSRoute, rank int) {
	rv := newRouteView(kindTLSRoute, &r.ObjectMeta, &r.Spec.CommonRouteSpec, r.Spec.Hostnames, rank)
	refs := l4Rule(r.Spec.Rules, func(x gwv1.TLSRouteRule) []gwv1.BackendRef { return x.BackendRefs })
	b.serveL4(rv, refs, func(g *l4Group, svc string) {
		hgs := groupHosts(g.hosts)
		for hi, hg := range hgs {
			name := fmt.Sprintf("%s-%s%s", rv.base(), g.eps[0], hg.suffix(hi, hgs))
			if g.passthrough {
				name += "-passthrough"
			}
			prec := precedence{host: hg.class(), rank: rv.rank}
			b.cfg.TCP.Routers[name] = &config.TCPRouter{
				Rule: hg.sniExpr(), EntryPoints: g.eps, Service: svc, Priority: prec.priority(),
				TLS: &config.TCPRouterTLS{Passthrough: g.passthrough},
			}
			b.origin(config.KindTCPRouter, name, rv.origin())
		}
	})
}

// tcpRoute translates one TCPRoute into a TCP router taking every
// connection of its listeners' entry points.
func (b *builder) tcpRoute(r *gwv1.TCPRoute, rank int) {
	rv := newRouteView(kindTCPRoute, &r.ObjectMeta, &r.Spec.CommonRouteSpec, nil, rank)
	refs := l4Rule(r.Spec.Rules, func(x gwv1.TCPRouteRule) []gwv1.BackendRef { return x.BackendRefs })
	b.serveL4(rv, refs, func(g *l4Group, svc string) {
		name := fmt.Sprintf("%s-%s", rv.base(), g.eps[0])
		prec := precedence{rank: rv.rank}
		b.cfg.TCP.Routers[name] = &config.TCPRouter{
			Rule: "HostSNI(`*`)", EntryPoints: g.eps, Service: svc, Priority: prec.priority(),
		}
		b.origin(config.KindTCPRouter, name, rv.origin())
	})
}

// serveL4 attaches a TLS or TCP route, defines its service and calls
// routers for each port group, then records the route's status.
func (b *builder) serveL4(rv *routeView, refs []gwv1.BackendRef, routers func(g *l4Group, svc string)) {
	parents, atts := b.attach(rv, true)
	if len(parents) == 0 {
		return
	}
	var resolved check
	groups := groupL4(atts)
	if len(groups) == 0 {
		for i, r := range refs {
			b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("rules[0].backendRefs[%d]", i), &resolved)
		}
	} else {
		svc := b.tcpRuleService(rv, rv.base(), refs, &resolved)
		if svc == "" {
			svc = b.invalidTCPBackend()
		}
		for _, g := range groups {
			routers(g, svc)
		}
	}
	b.refProblem(rv, resolved)
	b.status.Routes[routeKey(rv.kind, rv.key)] = b.parentStatuses(rv, parents, resolved)
}

// invalidTCPBackend returns the TCP service with no server that stands in
// for unresolved backends: connections are closed.
func (b *builder) invalidTCPBackend() string {
	if _, ok := b.cfg.TCP.Services[invalidBackend]; !ok {
		b.cfg.TCP.Services[invalidBackend] = &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{Servers: []config.TCPServer{}}}
		b.origin(config.KindTCPService, invalidBackend, "routes whose backendRefs could not be resolved (see the routes' status)")
	}
	return invalidBackend
}

// udpRoute translates one UDPRoute into a UDP router. A UDP entry point
// forwards to one router: the oldest route attached to it keeps it.
func (b *builder) udpRoute(r *gwv1.UDPRoute, rank int) {
	rv := newRouteView(kindUDPRoute, &r.ObjectMeta, &r.Spec.CommonRouteSpec, nil, rank)
	refs := l4Rule(r.Spec.Rules, func(x gwv1.UDPRouteRule) []gwv1.BackendRef { return x.BackendRefs })
	parents, atts := b.attach(rv, true)
	if len(parents) == 0 {
		return
	}
	var resolved check
	var eps []string
	for _, a := range atts {
		if !a.l.programmed() {
			continue
		}
		for _, ep := range a.l.eps {
			if owner, taken := b.udpOwners[ep]; taken && owner != rv.key {
				b.problems = append(b.problems, config.Problem{Kind: config.KindSource, Name: rv.origin(),
					Message: fmt.Sprintf("UDP entry point %q already forwards to UDPRoute %s, which is older", ep, owner)})
				continue
			}
			b.udpOwners[ep] = rv.key
			eps = append(eps, ep)
		}
	}
	slices.Sort(eps)
	eps = slices.Compact(eps)
	if len(eps) == 0 {
		for i, r := range refs {
			b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("rules[0].backendRefs[%d]", i), &resolved)
		}
	} else if svc := b.udpRuleService(rv, rv.base(), refs, &resolved); svc != "" {
		b.cfg.UDP.Routers[rv.base()] = &config.UDPRouter{EntryPoints: eps, Service: svc}
		b.origin(config.KindUDPRouter, rv.base(), rv.origin())
	}
	b.refProblem(rv, resolved)
	b.status.Routes[routeKey(rv.kind, rv.key)] = b.parentStatuses(rv, parents, resolved)
}
