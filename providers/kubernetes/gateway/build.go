package gateway

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// EntryPoint is one of Ferry's entry points as the provider sees it: a
// Gateway listener is served on the entry points with its port (and
// transport).
type EntryPoint struct {
	// Name is the entry point's name in the static configuration.
	Name string `json:"name"`
	// Port is the port it listens on.
	Port int32 `json:"port"`
	// UDP is set for a UDP entry point (address host:port/udp).
	UDP bool `json:"udp"`
}

// buildOptions are the build's fixed inputs.
type buildOptions struct {
	// controller is the controllerName of Ferry's GatewayClasses.
	controller string
	// entryPoints are Ferry's entry points, sorted by name.
	entryPoints []EntryPoint
	// addresses are reported in every accepted Gateway's status.
	addresses []gwv1.GatewayStatusAddress
	// kinds are the route kinds whose definitions are installed.
	kinds map[string]bool
}

// result is what the build makes of a snapshot.
type result struct {
	Config   *config.Config
	Problems []config.Problem
	Origins  map[config.ObjectID]string
	Status   Status
	// Secrets are the namespace/name of the Secrets whose certificates
	// are served.
	Secrets []string
}

// builder holds one build's state.
type builder struct {
	opts      *buildOptions
	ix        *index
	cfg       *config.Config
	problems  []config.Problem
	origins   map[config.ObjectID]string
	gateways  map[nsName]*gateway
	udpOwners map[string]nsName // UDP entry point → the route it forwards to
	status    Status
}

// build turns a snapshot into Ferry's configuration and the status of
// every Gateway API object Ferry is responsible for. It is pure: same
// snapshot, same result.
func build(s *Snapshot, o *buildOptions) *result {
	b := &builder{
		opts: o,
		ix:   newIndex(s),
		cfg: &config.Config{
			HTTP: config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{}, Middlewares: map[string]*config.Middleware{}},
			TCP:  config.TCP{Routers: map[string]*config.TCPRouter{}, Services: map[string]*config.TCPService{}},
			UDP:  config.UDP{Routers: map[string]*config.UDPRouter{}, Services: map[string]*config.UDPService{}},
		},
		origins:   map[config.ObjectID]string{},
		gateways:  map[nsName]*gateway{},
		udpOwners: map[string]nsName{},
		status: Status{
			GatewayClasses: map[string][]metav1.Condition{},
			Gateways:       map[string]*gwv1.GatewayStatus{},
			Routes:         map[string][]gwv1.RouteParentStatus{},
		},
	}
	classes := b.classes(s.GatewayClasses)
	gws := sortedBy(s.Gateways, func(g *gwv1.Gateway) *metav1.ObjectMeta { return &g.ObjectMeta })
	owners := map[string]portOwner{}
	var ordered []*gateway
	for _, g := range gws {
		accepted, ours := classes[string(g.Spec.GatewayClassName)]
		if !ours {
			continue
		}
		gw := b.newGateway(g, owners)
		if !accepted {
			gw.accepted = check{}
			gw.accepted.fail(string(gwv1.GatewayReasonInvalidParameters), "GatewayClass "+string(g.Spec.GatewayClassName)+" is not accepted")
		}
		b.gateways[gw.key] = gw
		ordered = append(ordered, gw)
	}
	// HTTP and gRPC routes compete for the same requests: one ranking.
	type ranked struct {
		meta *metav1.ObjectMeta
		do   func(rank int)
	}
	var l7 []ranked
	for _, r := range s.HTTPRoutes {
		l7 = append(l7, ranked{&r.ObjectMeta, func(rank int) { b.httpRoute(r, rank) }})
	}
	for _, r := range s.GRPCRoutes {
		l7 = append(l7, ranked{&r.ObjectMeta, func(rank int) { b.grpcRoute(r, rank) }})
	}
	var l4 []ranked
	for _, r := range s.TLSRoutes {
		l4 = append(l4, ranked{&r.ObjectMeta, func(rank int) { b.tlsRoute(r, rank) }})
	}
	for _, r := range s.TCPRoutes {
		l4 = append(l4, ranked{&r.ObjectMeta, func(rank int) { b.tcpRoute(r, rank) }})
	}
	var udp []ranked
	for _, r := range s.UDPRoutes {
		udp = append(udp, ranked{&r.ObjectMeta, func(rank int) { b.udpRoute(r, rank) }})
	}
	for _, list := range [][]ranked{l7, l4, udp} {
		slices.SortFunc(list, func(x, y ranked) int { return olderFirst(x.meta, y.meta) })
		for i, r := range list {
			r.do(i)
		}
	}
	secrets := b.certificates(ordered)
	markRuleSyntax(b.cfg) // hostnames.go
	for _, gw := range ordered {
		b.status.Gateways[gw.key.String()] = gw.status(o.addresses)
	}
	config.SortProblems(b.problems)
	return &result{Config: b.cfg, Problems: b.problems, Origins: b.origins, Status: b.status, Secrets: secrets}
}

// classes returns Ferry's GatewayClasses (those naming its controller) by
// name, with whether each is accepted, and records their status.
func (b *builder) classes(cs []*gwv1.GatewayClass) map[string]bool {
	out := map[string]bool{}
	for _, c := range cs {
		if string(c.Spec.ControllerName) != b.opts.controller {
			continue
		}
		var accepted check
		if c.Spec.ParametersRef != nil {
			accepted.fail(string(gwv1.GatewayClassReasonInvalidParameters), "Ferry takes no GatewayClass parameters")
		}
		out[c.Name] = !accepted.failed
		b.status.GatewayClasses[c.Name] = []metav1.Condition{
			accepted.condition(string(gwv1.GatewayClassConditionStatusAccepted), string(gwv1.GatewayClassReasonAccepted), "handled by Ferry", c.Generation),
		}
	}
	return out
}

// certificates serves the certificates of every programmed listener that
// terminates TLS, once each, and returns their Secrets' names, sorted.
func (b *builder) certificates(gws []*gateway) []string {
	seen := map[string]bool{}
	var names []string
	byName := map[string]config.Certificate{}
	for _, gw := range gws {
		for _, l := range gw.listeners {
			if !l.programmed() || !l.terminatesTLS() {
				continue
			}
			for i, c := range l.certs {
				n := l.certNames[i]
				if !seen[n] {
					seen[n] = true
					names = append(names, n)
					byName[n] = c
				}
			}
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b.cfg.TLS.Certificates = append(b.cfg.TLS.Certificates, byName[n])
	}
	return names
}

// origin records where a Ferry object comes from, for messages.
func (b *builder) origin(kind config.Kind, name, from string) {
	id := config.ObjectID{Kind: kind, Name: name}
	if _, ok := b.origins[id]; !ok {
		b.origins[id] = from
	}
}

// sortedBy returns objs ordered oldest first (then namespace/name).
func sortedBy[T any](objs []T, meta func(T) *metav1.ObjectMeta) []T {
	out := slices.Clone(objs)
	slices.SortFunc(out, func(a, b T) int { return olderFirst(meta(a), meta(b)) })
	return out
}
