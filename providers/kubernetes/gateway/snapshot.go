package gateway

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/providers/kubernetes"
)

// Snapshot is what the build reads: the objects of the cluster as the
// provider sees them (its namespaces, its label selector). Kinds whose
// definitions are not installed are simply empty.
type Snapshot struct {
	// GatewayClasses are all classes; those naming Ferry's controller count.
	GatewayClasses []*gwv1.GatewayClass
	// Gateways are all Gateways; those of Ferry's classes are served.
	Gateways []*gwv1.Gateway
	// HTTPRoutes, GRPCRoutes, TLSRoutes, TCPRoutes and UDPRoutes are the
	// routes; those attached to Ferry's Gateways are served.
	HTTPRoutes []*gwv1.HTTPRoute
	GRPCRoutes []*gwv1.GRPCRoute
	TLSRoutes  []*gwv1.TLSRoute
	TCPRoutes  []*gwv1.TCPRoute
	UDPRoutes  []*gwv1.UDPRoute
	// ReferenceGrants allow references across namespaces.
	ReferenceGrants []*gwv1.ReferenceGrant
	// Namespaces give the labels that allowedRoutes selectors look at.
	Namespaces []*corev1.Namespace
	Services   []*corev1.Service
	// EndpointSlices give the ready endpoints of Services.
	EndpointSlices []*discoveryv1.EndpointSlice
	// Secrets hold listener certificates (kubernetes.io/tls).
	Secrets []*corev1.Secret
}

// nsName names a namespaced object.
type nsName struct{ Namespace, Name string }

func (n nsName) String() string { return n.Namespace + "/" + n.Name }

func keyOf(m *metav1.ObjectMeta) nsName { return nsName{m.Namespace, m.Name} }

// index holds a snapshot's objects by key, for one build.
type index struct {
	services   map[nsName]*corev1.Service
	slices     map[nsName][]*discoveryv1.EndpointSlice // by Service
	secrets    map[nsName]*corev1.Secret
	namespaces map[string]*corev1.Namespace
	grants     map[string][]*gwv1.ReferenceGrant // by namespace
}

func newIndex(s *Snapshot) *index {
	ix := &index{
		services:   make(map[nsName]*corev1.Service, len(s.Services)),
		slices:     make(map[nsName][]*discoveryv1.EndpointSlice),
		secrets:    make(map[nsName]*corev1.Secret, len(s.Secrets)),
		namespaces: make(map[string]*corev1.Namespace, len(s.Namespaces)),
		grants:     make(map[string][]*gwv1.ReferenceGrant),
	}
	for _, o := range s.Services {
		ix.services[keyOf(&o.ObjectMeta)] = o
	}
	for _, o := range s.EndpointSlices {
		svc := o.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		k := nsName{o.Namespace, svc}
		ix.slices[k] = append(ix.slices[k], o)
	}
	for _, o := range s.Secrets {
		ix.secrets[keyOf(&o.ObjectMeta)] = o
	}
	for _, o := range s.Namespaces {
		ix.namespaces[o.Name] = o
	}
	for _, o := range s.ReferenceGrants {
		ix.grants[o.Namespace] = append(ix.grants[o.Namespace], o)
	}
	return ix
}

// ref is one end of a cross-namespace reference.
type ref struct {
	group, kind, namespace, name string
}

// granted reports whether a ReferenceGrant in to's namespace lets from
// refer to it. References within a namespace need no grant.
func (ix *index) granted(from, to ref) bool {
	if from.namespace == to.namespace {
		return true
	}
	for _, g := range ix.grants[to.namespace] {
		fromOK := slices.ContainsFunc(g.Spec.From, func(f gwv1.ReferenceGrantFrom) bool {
			return string(f.Group) == from.group && string(f.Kind) == from.kind && string(f.Namespace) == from.namespace
		})
		if !fromOK {
			continue
		}
		if slices.ContainsFunc(g.Spec.To, func(t gwv1.ReferenceGrantTo) bool {
			return string(t.Group) == to.group && string(t.Kind) == to.kind && (t.Name == nil || string(*t.Name) == to.name)
		}) {
			return true
		}
	}
	return false
}

// namespaceMatches reports whether namespace ns has labels that sel
// selects. An invalid selector selects nothing.
func (ix *index) namespaceMatches(ns string, sel *metav1.LabelSelector) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	var set labels.Set
	if n := ix.namespaces[ns]; n != nil {
		set = n.Labels
	}
	return s.Matches(set)
}

// readyEndpoints returns the ready endpoints of a Service port.
func (ix *index) readyEndpoints(svc nsName, portName string) []string {
	return kubernetes.ReadyEndpoints(ix.slices[svc], portName)
}

// olderFirst orders objects by creation time, then namespace/name: the
// order in which the Gateway API resolves conflicts.
func olderFirst(a, b *metav1.ObjectMeta) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
