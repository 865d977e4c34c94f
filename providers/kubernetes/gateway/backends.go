package gateway

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// invalidBackend is the service standing in for backendRefs that cannot be
// resolved, and for rules without backends: it has no server, so the
// requests meant for them fail (503) instead of falling through to another
// route.
const invalidBackend = "no-backend"

// backendSvc is a resolved Service port.
type backendSvc struct {
	key  nsName
	port corev1.ServicePort
}

// resolveBackend checks one backendRef of a route and returns the Service
// port it names; on failure it records the reason on resolved and returns
// false. field names the reference in messages.
func (b *builder) resolveBackend(rv *routeView, r gwv1.BackendObjectReference, field string, resolved *check) (backendSvc, bool) {
	group, kind := groupCore, kindService
	if r.Group != nil {
		group = string(*r.Group)
	}
	if r.Kind != nil {
		kind = string(*r.Kind)
	}
	ns := rv.key.Namespace
	if r.Namespace != nil {
		ns = string(*r.Namespace)
	}
	key := nsName{ns, string(r.Name)}
	if group != groupCore || kind != kindService {
		resolved.fail(string(gwv1.RouteReasonInvalidKind), fmt.Sprintf("%s: %s is not a Service", field, qualifiedKind(group, kind)))
		return backendSvc{}, false
	}
	from := ref{group: groupGateway, kind: rv.kind, namespace: rv.key.Namespace}
	if !b.ix.granted(from, ref{group: groupCore, kind: kindService, namespace: ns, name: key.Name}) {
		resolved.fail(string(gwv1.RouteReasonRefNotPermitted), fmt.Sprintf("%s: Service %s: no ReferenceGrant in namespace %s allows it", field, key, ns))
		return backendSvc{}, false
	}
	svc := b.ix.services[key]
	if svc == nil {
		resolved.fail(string(gwv1.RouteReasonBackendNotFound), fmt.Sprintf("%s: Service %s not found", field, key))
		return backendSvc{}, false
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		resolved.fail(string(gwv1.RouteReasonBackendNotFound), fmt.Sprintf("%s: Service %s: ExternalName Services are not supported", field, key))
		return backendSvc{}, false
	}
	if r.Port == nil {
		resolved.fail(string(gwv1.RouteReasonBackendNotFound), fmt.Sprintf("%s: Service %s: no port", field, key))
		return backendSvc{}, false
	}
	for _, p := range svc.Spec.Ports {
		if p.Port == *r.Port && p.Protocol != corev1.ProtocolSCTP {
			return backendSvc{key: key, port: p}, true
		}
	}
	resolved.fail(string(gwv1.RouteReasonBackendNotFound), fmt.Sprintf("%s: Service %s has no port %d", field, key, *r.Port))
	return backendSvc{}, false
}

func qualifiedKind(group, kind string) string {
	if group == "" {
		return "core/" + kind
	}
	return group + "/" + kind
}

// scheme is the scheme Ferry speaks to a Service port: its appProtocol
// decides (kubernetes.io/h2c, https, ...); gRPC defaults to h2c.
func scheme(p corev1.ServicePort, grpc bool) string {
	ap := ""
	if p.AppProtocol != nil {
		ap = strings.ToLower(*p.AppProtocol)
	}
	switch ap {
	case "kubernetes.io/h2c", "h2c", "grpc":
		return "h2c"
	case "https", "kubernetes.io/https", "kubernetes.io/wss", "wss", "grpcs":
		return "https"
	}
	if grpc {
		return "h2c"
	}
	return "http"
}

// backendName is the Ferry service name of a Service port.
func backendName(be backendSvc, suffix string) string {
	n := "svc-" + be.key.Namespace + "." + be.key.Name + "-" + strconv.Itoa(int(be.port.Port))
	if suffix != "" && suffix != "http" {
		n += "-" + suffix
	}
	return n
}

// httpBackend returns the name of the HTTP service of a Service port,
// defining it once.
func (b *builder) httpBackend(be backendSvc, grpc bool) string {
	sch := scheme(be.port, grpc)
	name := backendName(be, sch)
	if _, ok := b.cfg.HTTP.Services[name]; ok {
		return name
	}
	lb := &config.LoadBalancer{Servers: []config.Server{}}
	for _, a := range b.ix.readyEndpoints(be.key, be.port.Name) {
		lb.Servers = append(lb.Servers, config.Server{URL: sch + "://" + a})
	}
	b.cfg.HTTP.Services[name] = &config.Service{LoadBalancer: lb}
	b.origin(config.KindService, name, fmt.Sprintf("Service %s port %d", be.key, be.port.Port))
	return name
}

// invalidHTTPBackend returns the service standing in for unresolved
// backends, defining it once.
func (b *builder) invalidHTTPBackend() string {
	if _, ok := b.cfg.HTTP.Services[invalidBackend]; !ok {
		b.cfg.HTTP.Services[invalidBackend] = &config.Service{LoadBalancer: &config.LoadBalancer{Servers: []config.Server{}}}
		b.origin(config.KindService, invalidBackend, "rules without backendRefs, or whose backendRefs could not be resolved (see the routes' status)")
	}
	return invalidBackend
}

// weightOf returns a backendRef's weight (default 1).
func weightOf(w *int32) int {
	if w == nil {
		return 1
	}
	return int(*w)
}

// httpRuleService returns the service of an HTTP or gRPC rule: the
// backend's own service for a single backend, else a weighted service
// named name. refs are the rule's backendRefs; unresolved ones get the
// invalid backend's share.
func (b *builder) httpRuleService(rv *routeView, name string, refs []gwv1.BackendRef, fieldPrefix string, resolved *check) string {
	grpc := rv.kind == kindGRPCRoute
	type member struct {
		name   string
		weight int
	}
	var ms []member
	for i, r := range refs {
		be, ok := b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("%sbackendRefs[%d]", fieldPrefix, i), resolved)
		m := member{weight: weightOf(r.Weight)}
		if ok {
			m.name = b.httpBackend(be, grpc)
		} else {
			m.name = b.invalidHTTPBackend()
		}
		ms = append(ms, m)
	}
	switch {
	case len(ms) == 0:
		return b.invalidHTTPBackend()
	case len(ms) == 1 && ms[0].weight > 0:
		return ms[0].name
	}
	w := &config.Weighted{}
	for _, m := range ms {
		wt := m.weight
		w.Services = append(w.Services, config.WeightedService{Name: m.name, Weight: &wt})
	}
	b.cfg.HTTP.Services[name] = &config.Service{Weighted: w}
	b.origin(config.KindService, name, rv.origin())
	return name
}

// tcpRuleService returns the TCP service of a TLS or TCP route's
// backendRefs, or "" when none resolves.
func (b *builder) tcpRuleService(rv *routeView, name string, refs []gwv1.BackendRef, resolved *check) string {
	var ws []config.TCPWeightedService
	for i, r := range refs {
		be, ok := b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("rules[0].backendRefs[%d]", i), resolved)
		if !ok {
			continue
		}
		svc := backendName(be, "")
		if _, done := b.cfg.TCP.Services[svc]; !done {
			lb := &config.TCPLoadBalancer{Servers: []config.TCPServer{}}
			for _, a := range b.ix.readyEndpoints(be.key, be.port.Name) {
				lb.Servers = append(lb.Servers, config.TCPServer{Address: a})
			}
			b.cfg.TCP.Services[svc] = &config.TCPService{LoadBalancer: lb}
			b.origin(config.KindTCPService, svc, fmt.Sprintf("Service %s port %d", be.key, be.port.Port))
		}
		wt := weightOf(r.Weight)
		ws = append(ws, config.TCPWeightedService{Name: svc, Weight: &wt})
	}
	switch {
	case len(ws) == 0:
		return ""
	case len(ws) == 1 && len(refs) == 1 && *ws[0].Weight > 0:
		return ws[0].Name
	}
	b.cfg.TCP.Services[name] = &config.TCPService{Weighted: &config.TCPWeighted{Services: ws}}
	b.origin(config.KindTCPService, name, rv.origin())
	return name
}

// udpRuleService returns the UDP service of a UDP route's backendRefs, or
// "" when none resolves. UDP services have no weighted kind, so the
// servers of every backend join one load balancer, each weighted so that
// the backends keep their shares.
func (b *builder) udpRuleService(rv *routeView, name string, refs []gwv1.BackendRef, resolved *check) string {
	type group struct {
		addrs  []string
		weight int
	}
	var gs []group
	lcm := 1
	for i, r := range refs {
		be, ok := b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("rules[0].backendRefs[%d]", i), resolved)
		if !ok {
			continue
		}
		addrs := b.ix.readyEndpoints(be.key, be.port.Name)
		if len(addrs) == 0 || weightOf(r.Weight) == 0 {
			continue
		}
		gs = append(gs, group{addrs: addrs, weight: weightOf(r.Weight)})
		lcm = lcm / gcd(lcm, len(addrs)) * len(addrs)
	}
	if len(gs) == 0 && !resolved.failed {
		gs = nil // resolved, but no endpoint: an empty service
	} else if len(gs) == 0 {
		return ""
	}
	lb := &config.UDPLoadBalancer{Servers: []config.UDPServer{}}
	for _, g := range gs {
		w := g.weight * lcm / len(g.addrs)
		for _, a := range g.addrs {
			wt := w
			lb.Servers = append(lb.Servers, config.UDPServer{Address: a, Weight: &wt})
		}
	}
	if len(gs) == 1 {
		for i := range lb.Servers {
			lb.Servers[i].Weight = nil
		}
	}
	b.cfg.UDP.Services[name] = &config.UDPService{LoadBalancer: lb}
	b.origin(config.KindUDPService, name, rv.origin())
	return name
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
