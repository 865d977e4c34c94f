package gateway

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// Route kinds, and the API groups of references.
const (
	kindHTTPRoute = "HTTPRoute"
	kindGRPCRoute = "GRPCRoute"
	kindTLSRoute  = "TLSRoute"
	kindTCPRoute  = "TCPRoute"
	kindUDPRoute  = "UDPRoute"
	kindGateway   = "Gateway"
	kindService   = "Service"
	kindSecret    = "Secret"
	groupGateway  = gwv1.GroupName
	groupCore     = ""
)

// protocolKinds are the route kinds each listener protocol takes.
var protocolKinds = map[gwv1.ProtocolType][]string{
	gwv1.HTTPProtocolType:  {kindHTTPRoute, kindGRPCRoute},
	gwv1.HTTPSProtocolType: {kindHTTPRoute, kindGRPCRoute},
	gwv1.TLSProtocolType:   {kindTLSRoute},
	gwv1.TCPProtocolType:   {kindTCPRoute},
	gwv1.UDPProtocolType:   {kindUDPRoute},
}

// portClass groups the protocols that can share a port: HTTPS and TLS
// listeners are told apart by server name; the others need a port alone.
func portClass(p gwv1.ProtocolType) string {
	switch p {
	case gwv1.HTTPSProtocolType, gwv1.TLSProtocolType:
		return "TLS"
	}
	return string(p)
}

// gateway is one of Ferry's Gateways while it is built.
type gateway struct {
	obj       *gwv1.Gateway
	key       nsName
	accepted  check
	listeners []*listener
}

// listener is one listener of a Gateway while it is built.
type listener struct {
	gw   *gateway
	spec *gwv1.Listener
	// eps are the names of Ferry's entry points on the listener's port.
	eps        []string
	kinds      []string // the route kinds it takes
	certs      []config.Certificate
	certNames  []string // namespace/name of the Secrets of certs
	accepted   check
	resolved   check
	conflicted string // the conflict reason, "" for none
	attached   int32
}

// ok reports whether routes may attach to the listener.
func (l *listener) ok() bool { return !l.accepted.failed && l.conflicted == "" }

// programmed reports whether the listener is served.
func (l *listener) programmed() bool {
	if !l.ok() {
		return false
	}
	if l.terminatesTLS() {
		return len(l.certs) > 0
	}
	return !l.resolved.failed || l.resolved.reason == string(gwv1.ListenerReasonInvalidRouteKinds) && len(l.kinds) > 0
}

// terminatesTLS reports whether Ferry holds the listener's certificates.
func (l *listener) terminatesTLS() bool {
	switch l.spec.Protocol {
	case gwv1.HTTPSProtocolType:
		return true
	case gwv1.TLSProtocolType:
		return l.spec.TLS == nil || l.spec.TLS.Mode == nil || *l.spec.TLS.Mode == gwv1.TLSModeTerminate
	}
	return false
}

// passthrough reports whether a TLS listener forwards TLS untouched.
func (l *listener) passthrough() bool {
	return l.spec.Protocol == gwv1.TLSProtocolType && !l.terminatesTLS()
}

// hostname is the listener's hostname, "" for any.
func (l *listener) hostname() string {
	if l.spec.Hostname == nil {
		return ""
	}
	return strings.ToLower(string(*l.spec.Hostname))
}

// portOwner claims entry points for one port class across Gateways, so
// that an HTTP and a TCP listener of two Gateways cannot share a port.
type portOwner struct {
	class string
	gw    nsName
}

// newGateway checks a Gateway and its listeners. owners records which
// Gateway first claimed each entry point for which class.
func (b *builder) newGateway(obj *gwv1.Gateway, owners map[string]portOwner) *gateway {
	gw := &gateway{obj: obj, key: keyOf(&obj.ObjectMeta)}
	if inf := obj.Spec.Infrastructure; inf != nil && inf.ParametersRef != nil {
		gw.accepted.fail(string(gwv1.GatewayReasonInvalidParameters), "Ferry takes no infrastructure parameters")
	}
	validation := map[int32]bool{} // ports whose TLS clients are to be verified
	if t := obj.Spec.TLS; t != nil && t.Frontend != nil {
		if t.Frontend.Default.Validation != nil {
			validation[0] = true
		}
		for _, pp := range t.Frontend.PerPort {
			if pp.TLS.Validation != nil {
				validation[pp.Port] = true
			}
		}
	}
	for i := range obj.Spec.Listeners {
		l := &listener{gw: gw, spec: &obj.Spec.Listeners[i]}
		gw.listeners = append(gw.listeners, l)
		b.checkListener(l, validation)
	}
	markConflicts(gw.listeners)
	for _, l := range gw.listeners {
		if !l.ok() {
			continue
		}
		class := portClass(l.spec.Protocol)
		for _, ep := range l.eps {
			o, taken := owners[ep]
			switch {
			case !taken:
				owners[ep] = portOwner{class: class, gw: gw.key}
			case o.class != class:
				l.accepted.fail(string(gwv1.ListenerReasonPortUnavailable), fmt.Sprintf(
					"entry point %q serves %s listeners of Gateway %s", ep, o.class, o.gw))
			}
		}
	}
	return gw
}

// checkListener works out a listener's entry points, route kinds and
// certificates.
func (b *builder) checkListener(l *listener, validation map[int32]bool) {
	spec := l.spec
	supported, known := protocolKinds[spec.Protocol]
	if !known {
		l.accepted.fail(string(gwv1.ListenerReasonUnsupportedProtocol), fmt.Sprintf("protocol %q is not supported", spec.Protocol))
		return
	}
	udp := spec.Protocol == gwv1.UDPProtocolType
	for _, ep := range b.opts.entryPoints {
		if ep.Port == spec.Port && ep.UDP == udp {
			l.eps = append(l.eps, ep.Name)
		}
	}
	if len(l.eps) == 0 {
		transport := "TCP"
		if udp {
			transport = "UDP"
		}
		l.accepted.fail(string(gwv1.ListenerReasonPortUnavailable), fmt.Sprintf("Ferry has no %s entry point on port %d", transport, spec.Port))
	}
	if l.terminatesTLS() && (validation[0] || validation[spec.Port]) {
		l.accepted.fail(string(gwv1.ListenerReasonUnsupportedValue), "client certificate validation (spec.tls.frontend) is not supported")
	}
	l.kinds = b.routeKinds(l, supported)
	if l.terminatesTLS() {
		b.listenerCerts(l)
	}
}

// routeKinds returns the route kinds the listener takes: those its
// allowedRoutes name (all its protocol supports by default) whose
// definitions are installed. A kind it cannot take fails ResolvedRefs.
func (b *builder) routeKinds(l *listener, supported []string) []string {
	var kinds []string
	if ar := l.spec.AllowedRoutes; ar != nil && len(ar.Kinds) > 0 {
		for _, k := range ar.Kinds {
			group := groupGateway
			if k.Group != nil {
				group = string(*k.Group)
			}
			if group != groupGateway || !slices.Contains(supported, string(k.Kind)) || !b.opts.kinds[string(k.Kind)] {
				l.resolved.fail(string(gwv1.ListenerReasonInvalidRouteKinds), fmt.Sprintf("route kind %s/%s is not supported on a %s listener", group, k.Kind, l.spec.Protocol))
				continue
			}
			kinds = append(kinds, string(k.Kind))
		}
		slices.Sort(kinds)
		return slices.Compact(kinds)
	}
	for _, k := range supported {
		if b.opts.kinds[k] {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// listenerCerts resolves the certificate Secrets of a TLS-terminating
// listener.
func (b *builder) listenerCerts(l *listener) {
	var refs []gwv1.SecretObjectReference
	if l.spec.TLS != nil {
		refs = l.spec.TLS.CertificateRefs
	}
	if len(refs) == 0 {
		l.resolved.fail(string(gwv1.ListenerReasonInvalidCertificateRef), "no certificateRefs")
		return
	}
	for i, r := range refs {
		group, kind := groupCore, kindSecret
		if r.Group != nil {
			group = string(*r.Group)
		}
		if r.Kind != nil {
			kind = string(*r.Kind)
		}
		ns := l.gw.key.Namespace
		if r.Namespace != nil {
			ns = string(*r.Namespace)
		}
		key := nsName{ns, string(r.Name)}
		field := fmt.Sprintf("certificateRefs[%d]", i)
		if group != groupCore || kind != kindSecret {
			l.resolved.fail(string(gwv1.ListenerReasonInvalidCertificateRef), fmt.Sprintf("%s: %s/%s is not a Secret", field, group, kind))
			continue
		}
		from := ref{group: groupGateway, kind: kindGateway, namespace: l.gw.key.Namespace}
		if !b.ix.granted(from, ref{group: groupCore, kind: kindSecret, namespace: ns, name: key.Name}) {
			l.resolved.fail(string(gwv1.ListenerReasonRefNotPermitted), fmt.Sprintf("%s: Secret %s: no ReferenceGrant in namespace %s allows it", field, key, ns))
			continue
		}
		sec := b.ix.secrets[key]
		if sec == nil {
			l.resolved.fail(string(gwv1.ListenerReasonInvalidCertificateRef), fmt.Sprintf("%s: Secret %s not found (or not of type kubernetes.io/tls)", field, key))
			continue
		}
		crt, keyPEM := sec.Data["tls.crt"], sec.Data["tls.key"]
		if _, err := tls.X509KeyPair(crt, keyPEM); err != nil {
			l.resolved.fail(string(gwv1.ListenerReasonInvalidCertificateRef), fmt.Sprintf("%s: Secret %s: %v", field, key, err))
			continue
		}
		l.certs = append(l.certs, config.Certificate{CertFile: string(crt), KeyFile: string(keyPEM)})
		l.certNames = append(l.certNames, key.String())
	}
}

// markConflicts flags listeners of one Gateway that cannot be told apart:
// on one port, a protocol other than the first listener's
// (ProtocolConflict), or the same hostname as an earlier listener
// (HostnameConflict; TCP and UDP listeners have no hostname).
func markConflicts(ls []*listener) {
	first := map[int32]string{} // port → class of its first listener
	seen := map[string]bool{}   // port/class/hostname
	for _, l := range ls {
		if l.accepted.failed {
			continue
		}
		class := portClass(l.spec.Protocol)
		if c, ok := first[l.spec.Port]; ok && c != class {
			l.conflicted = string(gwv1.ListenerReasonProtocolConflict)
			continue
		}
		first[l.spec.Port] = class
		host := l.hostname()
		if class == "TCP" || class == "UDP" {
			host = ""
		}
		k := fmt.Sprintf("%d/%s/%s", l.spec.Port, class, host)
		if seen[k] {
			l.conflicted = string(gwv1.ListenerReasonHostnameConflict)
			continue
		}
		seen[k] = true
	}
}

// status is the Gateway's status once routes have attached.
func (gw *gateway) status(addresses []gwv1.GatewayStatusAddress) *gwv1.GatewayStatus {
	gen := gw.obj.Generation
	st := &gwv1.GatewayStatus{}
	valid := 0
	programmed := 0
	for _, l := range gw.listeners {
		st.Listeners = append(st.Listeners, l.status(gen))
		if l.ok() {
			valid++
		}
		if l.programmed() {
			programmed++
		}
	}
	accepted := gw.accepted
	if valid == 0 {
		accepted.fail(string(gwv1.GatewayReasonListenersNotValid), "no listener is valid")
	}
	switch {
	case accepted.failed:
		st.Conditions = append(st.Conditions, accepted.condition(string(gwv1.GatewayConditionAccepted), "", "", gen))
	case valid < len(gw.listeners):
		st.Conditions = append(st.Conditions, cond(gwv1.GatewayConditionAccepted, true, gwv1.GatewayReasonListenersNotValid,
			fmt.Sprintf("%d of %d listeners are not valid", len(gw.listeners)-valid, len(gw.listeners)), gen))
	default:
		st.Conditions = append(st.Conditions, cond(gwv1.GatewayConditionAccepted, true, gwv1.GatewayReasonAccepted, "accepted by Ferry", gen))
	}
	var prog check
	switch {
	case accepted.failed:
		prog.fail(string(gwv1.GatewayReasonInvalid), "the Gateway is not accepted")
	case programmed == 0:
		prog.fail(string(gwv1.GatewayReasonInvalid), "no listener is programmed")
	default:
		if missing := unassigned(gw.obj.Spec.Addresses, addresses); missing != "" {
			prog.fail(string(gwv1.GatewayReasonAddressNotAssigned), fmt.Sprintf("address %q is not one of Ferry's status addresses", missing))
		}
	}
	st.Conditions = append(st.Conditions, prog.condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonProgrammed), "served by Ferry", gen))
	if !accepted.failed {
		st.Addresses = slices.Clone(addresses)
	}
	return st
}

// unassigned returns the first requested address that Ferry does not
// report, "" when there is none.
func unassigned(want []gwv1.GatewaySpecAddress, have []gwv1.GatewayStatusAddress) string {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h gwv1.GatewayStatusAddress) bool { return h.Value == w.Value }) {
			return w.Value
		}
	}
	return ""
}

// status is the listener's status.
func (l *listener) status(gen int64) gwv1.ListenerStatus {
	st := gwv1.ListenerStatus{Name: l.spec.Name, AttachedRoutes: l.attached, SupportedKinds: []gwv1.RouteGroupKind{}}
	for _, k := range l.kinds {
		g := gwv1.Group(groupGateway)
		st.SupportedKinds = append(st.SupportedKinds, gwv1.RouteGroupKind{Group: &g, Kind: gwv1.Kind(k)})
	}
	on := "on Ferry's entry point " + strings.Join(l.eps, ", ")
	conflict := "no conflict"
	if l.conflicted != "" {
		conflict = "conflicts with an earlier listener on port " + strconv.Itoa(int(l.spec.Port))
	}
	st.Conditions = []metav1.Condition{
		l.accepted.condition(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonAccepted), "accepted "+on, gen),
		cond(gwv1.ListenerConditionConflicted, l.conflicted != "", conflictReason(l.conflicted), conflict, gen),
		l.resolved.condition(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonResolvedRefs), "references resolved", gen),
	}
	if l.conflicted != "" {
		st.Conditions[0] = cond(gwv1.ListenerConditionAccepted, false, l.conflicted, "conflicts with another listener of the Gateway", gen)
	}
	var prog check
	if !l.programmed() {
		prog.fail(string(gwv1.ListenerReasonInvalid), "not served: see the other conditions")
	}
	st.Conditions = append(st.Conditions, prog.condition(string(gwv1.ListenerConditionProgrammed), string(gwv1.ListenerReasonProgrammed), "served "+on, gen))
	return st
}

func conflictReason(r string) string {
	if r == "" {
		return string(gwv1.ListenerReasonNoConflicts)
	}
	return r
}
