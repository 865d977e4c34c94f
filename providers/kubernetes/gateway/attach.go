package gateway

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeView is what attachment needs of a route of any kind.
type routeView struct {
	kind      string
	meta      *metav1.ObjectMeta
	key       nsName
	parents   []gwv1.ParentReference
	hostnames []string // nil for kinds without hostnames
	rank      int      // position among routes, oldest first
}

func newRouteView(kind string, meta *metav1.ObjectMeta, spec *gwv1.CommonRouteSpec, hostnames []gwv1.Hostname, rank int) *routeView {
	rv := &routeView{kind: kind, meta: meta, key: keyOf(meta), parents: spec.ParentRefs, rank: rank}
	for _, h := range hostnames {
		rv.hostnames = append(rv.hostnames, strings.ToLower(string(h)))
	}
	return rv
}

// origin names the route in messages.
func (rv *routeView) origin() string { return rv.kind + " " + rv.key.String() }

// base is the prefix of the names of the route's Ferry objects, e.g.
// httproute-default.web ("." cannot appear in a namespace, so names of
// different routes never collide).
func (rv *routeView) base() string {
	return strings.ToLower(rv.kind) + "-" + rv.key.Namespace + "." + rv.key.Name
}

// parent is one parentRef of a route that names one of Ferry's Gateways.
type parent struct {
	ref      gwv1.ParentReference
	accepted check
}

// attachment is a route attached to one listener, with the hostnames it
// serves there (nil for kinds without hostnames).
type attachment struct {
	l     *listener
	hosts []string
}

// attach works out which listeners of Ferry's Gateways a route attaches
// to. parents lists, in spec order, the parentRefs naming Ferry's Gateways
// with their Accepted outcome; a parentRef naming another controller's
// Gateway (or another kind) is not Ferry's to report on. When counted is
// set, each listener's attachedRoutes counts the route.
func (b *builder) attach(rv *routeView, counted bool) (parents []parent, atts []attachment) {
	seen := map[*listener]bool{}
	for _, pr := range rv.parents {
		group, kind := groupGateway, kindGateway
		if pr.Group != nil {
			group = string(*pr.Group)
		}
		if pr.Kind != nil {
			kind = string(*pr.Kind)
		}
		if group != groupGateway || kind != kindGateway {
			continue
		}
		ns := rv.key.Namespace
		if pr.Namespace != nil {
			ns = string(*pr.Namespace)
		}
		gw := b.gateways[nsName{ns, string(pr.Name)}]
		if gw == nil {
			continue
		}
		p := parent{ref: pr}
		found := b.attachParent(rv, gw, pr, &p.accepted)
		if !p.accepted.failed {
			for _, a := range found {
				if !seen[a.l] {
					seen[a.l] = true
					atts = append(atts, a)
					if counted {
						a.l.attached++
					}
				}
			}
		}
		parents = append(parents, p)
	}
	return parents, atts
}

// attachParent returns the listeners of gw that the parentRef pr lets rv
// attach to, or records why there are none.
func (b *builder) attachParent(rv *routeView, gw *gateway, pr gwv1.ParentReference, accepted *check) []attachment {
	if gw.accepted.failed {
		accepted.fail(string(gwv1.RouteReasonNoMatchingParent), fmt.Sprintf("Gateway %s is not accepted", gw.key))
		return nil
	}
	var candidates []*listener
	for _, l := range gw.listeners {
		if pr.SectionName != nil && l.spec.Name != *pr.SectionName {
			continue
		}
		if pr.Port != nil && l.spec.Port != *pr.Port {
			continue
		}
		candidates = append(candidates, l)
	}
	if len(candidates) == 0 {
		accepted.fail(string(gwv1.RouteReasonNoMatchingParent), fmt.Sprintf("Gateway %s has no listener%s", gw.key, describeSection(pr)))
		return nil
	}
	var allowed []*listener
	invalid := 0
	for _, l := range candidates {
		if !l.ok() {
			invalid++
			continue
		}
		if slices.Contains(l.kinds, rv.kind) && b.namespaceAllowed(l, rv.key.Namespace) {
			allowed = append(allowed, l)
		}
	}
	if len(allowed) == 0 {
		if invalid == len(candidates) {
			accepted.fail(string(gwv1.RouteReasonNoMatchingParent), fmt.Sprintf("no valid listener of Gateway %s%s", gw.key, describeSection(pr)))
		} else {
			accepted.fail(string(gwv1.RouteReasonNotAllowedByListeners), fmt.Sprintf("no listener of Gateway %s%s allows %ss from namespace %s",
				gw.key, describeSection(pr), rv.kind, rv.key.Namespace))
		}
		return nil
	}
	var atts []attachment
	for _, l := range allowed {
		if rv.hostnames == nil && rv.kind != kindHTTPRoute && rv.kind != kindGRPCRoute && rv.kind != kindTLSRoute {
			atts = append(atts, attachment{l: l})
			continue
		}
		if hosts, ok := routeHostnames(l.hostname(), rv.hostnames); ok {
			atts = append(atts, attachment{l: l, hosts: hosts})
		}
	}
	if len(atts) == 0 {
		accepted.fail(string(gwv1.RouteReasonNoMatchingListenerHostname), fmt.Sprintf("no hostname of the route matches a listener of Gateway %s%s",
			gw.key, describeSection(pr)))
	}
	return atts
}

func describeSection(pr gwv1.ParentReference) string {
	var s string
	if pr.SectionName != nil {
		s += fmt.Sprintf(" named %q", *pr.SectionName)
	}
	if pr.Port != nil {
		s += fmt.Sprintf(" on port %d", *pr.Port)
	}
	return s
}

// namespaceAllowed applies a listener's allowedRoutes.namespaces (default:
// the Gateway's namespace only).
func (b *builder) namespaceAllowed(l *listener, ns string) bool {
	from := gwv1.NamespacesFromSame
	var sel *metav1.LabelSelector
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		sel = ar.Namespaces.Selector
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSame:
		return ns == l.gw.key.Namespace
	case gwv1.NamespacesFromSelector:
		return b.ix.namespaceMatches(ns, sel)
	}
	return false
}

// portGroup is the part of a route served on one port: its entry points,
// whether connections there are TLS, and the hostnames served.
type portGroup struct {
	port  int32
	eps   []string
	tls   bool
	hosts []string
	l     *listener // the first listener, for its protocol and mode
}

// groupByPort merges a route's attachments by listener port, in port order.
func groupByPort(atts []attachment) []*portGroup {
	byPort := map[int32]*portGroup{}
	var out []*portGroup
	for _, a := range atts {
		if !a.l.programmed() {
			continue
		}
		g := byPort[a.l.spec.Port]
		if g == nil {
			g = &portGroup{port: a.l.spec.Port, eps: a.l.eps, tls: a.l.terminatesTLS(), l: a.l}
			byPort[a.l.spec.Port] = g
			out = append(out, g)
		}
		g.hosts = append(g.hosts, a.hosts...)
	}
	for _, g := range out {
		slices.Sort(g.hosts)
		g.hosts = slices.Compact(g.hosts)
	}
	slices.SortFunc(out, func(a, b *portGroup) int { return int(a.port) - int(b.port) })
	return out
}

// parentStatuses turns a route's parents into its status entries: the
// parent's Accepted, then the route's ResolvedRefs, and more conditions
// (PartiallyInvalid) when given.
func (b *builder) parentStatuses(rv *routeView, parents []parent, resolved check, extra ...metav1.Condition) []gwv1.RouteParentStatus {
	gen := rv.meta.Generation
	out := make([]gwv1.RouteParentStatus, 0, len(parents))
	for _, p := range parents {
		conds := []metav1.Condition{
			p.accepted.condition(string(gwv1.RouteConditionAccepted), string(gwv1.RouteReasonAccepted), "accepted", gen),
			resolved.condition(string(gwv1.RouteConditionResolvedRefs), string(gwv1.RouteReasonResolvedRefs), "all references resolved", gen),
		}
		conds = append(conds, extra...)
		out = append(out, gwv1.RouteParentStatus{
			ParentRef:      p.ref,
			ControllerName: gwv1.GatewayController(b.opts.controller),
			Conditions:     conds,
		})
	}
	return out
}
