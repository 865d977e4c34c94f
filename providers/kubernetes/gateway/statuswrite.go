package gateway

import (
	"context"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ferryproxy/ferry/providers/kubernetes"
)

// mergeConditions returns want with transition times: a condition keeps
// the time it has in current while its status is unchanged, else it
// changes now.
func mergeConditions(current, want []metav1.Condition, now metav1.Time) []metav1.Condition {
	if want == nil {
		return nil
	}
	out := make([]metav1.Condition, len(want))
	for i, w := range want {
		w.LastTransitionTime = now
		if c := meta.FindStatusCondition(current, w.Type); c != nil && c.Status == w.Status {
			w.LastTransitionTime = c.LastTransitionTime
		}
		out[i] = w
	}
	return out
}

// gatewayStatus is want with the transition times of current kept.
func gatewayStatus(current gwv1.GatewayStatus, want *gwv1.GatewayStatus, now metav1.Time) gwv1.GatewayStatus {
	out := *want.DeepCopy()
	out.Conditions = mergeConditions(current.Conditions, want.Conditions, now)
	out.AttachedListenerSets = current.AttachedListenerSets
	for i, l := range out.Listeners {
		var cur []metav1.Condition
		for _, c := range current.Listeners {
			if c.Name == l.Name {
				cur = c.Conditions
			}
		}
		out.Listeners[i].Conditions = mergeConditions(cur, l.Conditions, now)
	}
	return out
}

// routeStatus is current with Ferry's parent entries replaced by ours
// (with transition times kept); other controllers' entries stay as they are.
func routeStatus(current gwv1.RouteStatus, controller string, ours []gwv1.RouteParentStatus, now metav1.Time) gwv1.RouteStatus {
	out := gwv1.RouteStatus{Parents: []gwv1.RouteParentStatus{}}
	for _, p := range current.Parents {
		if string(p.ControllerName) != controller {
			out.Parents = append(out.Parents, *p.DeepCopy())
		}
	}
	for _, p := range ours {
		var cur []metav1.Condition
		for _, c := range current.Parents {
			if string(c.ControllerName) == controller && sameParent(c.ParentRef, p.ParentRef) {
				cur = c.Conditions
			}
		}
		p = *p.DeepCopy()
		p.Conditions = mergeConditions(cur, p.Conditions, now)
		out.Parents = append(out.Parents, p)
	}
	return out
}

// ownsParents reports whether a route status has entries of controller.
func ownsParents(st gwv1.RouteStatus, controller string) bool {
	return slices.ContainsFunc(st.Parents, func(p gwv1.RouteParentStatus) bool { return string(p.ControllerName) == controller })
}

func sameParent(a, b gwv1.ParentReference) bool {
	return a.Name == b.Name && eqPtr(a.Group, b.Group) && eqPtr(a.Kind, b.Kind) && eqPtr(a.Namespace, b.Namespace) &&
		eqPtr(a.SectionName, b.SectionName) && eqPtr(a.Port, b.Port)
}

// eqPtr reports whether two optional values are both unset or equal.
func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// statusTarget is how one kind of object gets its status written.
type statusTarget[T any] struct {
	resource string // for not-found errors, e.g. gateways
	stores   []cache.Store
}

// find returns the cached object named key, or a not-found error.
func (t statusTarget[T]) find(key string) (T, error) {
	for _, s := range t.stores {
		if o, ok, _ := s.GetByKey(key); ok {
			if v, ok := o.(T); ok {
				return v, nil
			}
		}
	}
	var zero T
	return zero, apierrors.NewNotFound(schema.GroupResource{Group: gwv1.GroupName, Resource: t.resource}, key)
}

// statusWriter hands the statuses of one build to the shared writer.
type statusWriter struct {
	w          *kubernetes.StatusWriter
	client     gwclient.Interface
	controller string
	now        func() time.Time
}

// writeClasses sets the status of every GatewayClass of Ferry's.
func (s *statusWriter) writeClasses(classes []*gwv1.GatewayClass, want map[string][]metav1.Condition, stores []cache.Store) {
	t := statusTarget[*gwv1.GatewayClass]{resource: "gatewayclasses", stores: stores}
	for _, c := range classes {
		conds, ok := want[c.Name]
		if !ok {
			continue
		}
		now := metav1.NewTime(s.now().Truncate(time.Second))
		merged := c.Status.DeepCopy()
		merged.Conditions = mergeConditions(c.Status.Conditions, conds, now)
		name := c.Name
		s.w.Set("gatewayclass/"+name, kubernetes.StatusUpdate{Current: c.Status, Want: *merged, Write: func(ctx context.Context) error {
			cur, err := t.find(name)
			if err != nil {
				return err
			}
			cp := cur.DeepCopy()
			cp.Status.Conditions = mergeConditions(cur.Status.Conditions, conds, now)
			_, err = s.client.GatewayV1().GatewayClasses().UpdateStatus(ctx, cp, metav1.UpdateOptions{})
			return err
		}})
	}
}

// writeGateways sets the status of every Gateway of Ferry's classes.
func (s *statusWriter) writeGateways(gws []*gwv1.Gateway, want map[string]*gwv1.GatewayStatus, stores []cache.Store) {
	t := statusTarget[*gwv1.Gateway]{resource: "gateways", stores: stores}
	for _, g := range gws {
		key := g.Namespace + "/" + g.Name
		st, ok := want[key]
		if !ok {
			continue
		}
		now := metav1.NewTime(s.now().Truncate(time.Second))
		ns := g.Namespace
		s.w.Set("gateway/"+key, kubernetes.StatusUpdate{Current: g.Status, Want: gatewayStatus(g.Status, st, now), Write: func(ctx context.Context) error {
			cur, err := t.find(key)
			if err != nil {
				return err
			}
			cp := cur.DeepCopy()
			cp.Status = gatewayStatus(cur.Status, st, now)
			_, err = s.client.GatewayV1().Gateways(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
			return err
		}})
	}
}

// routeAccess is what writing a route kind's status needs.
type routeAccess[T any] struct {
	kind   string
	stores []cache.Store
	meta   func(T) *metav1.ObjectMeta
	status func(T) *gwv1.RouteStatus
	update func(ctx context.Context, obj T) error
	copy   func(T) T
}

// writeRoutes sets the status of every route of one kind that Ferry has,
// or had, something to say about.
func writeRoutes[T any](s *statusWriter, a routeAccess[T], routes []T, want map[string][]gwv1.RouteParentStatus) {
	t := statusTarget[T]{resource: strings.ToLower(a.kind) + "s", stores: a.stores}
	for _, r := range routes {
		m := a.meta(r)
		key := m.Namespace + "/" + m.Name
		ours := want[routeKey(a.kind, nsName{m.Namespace, m.Name})]
		cur := *a.status(r)
		if len(ours) == 0 && !ownsParents(cur, s.controller) {
			continue
		}
		now := metav1.NewTime(s.now().Truncate(time.Second))
		s.w.Set(a.kind+"/"+key, kubernetes.StatusUpdate{Current: cur, Want: routeStatus(cur, s.controller, ours, now), Write: func(ctx context.Context) error {
			obj, err := t.find(key)
			if err != nil {
				return err
			}
			cp := a.copy(obj)
			*a.status(cp) = routeStatus(*a.status(obj), s.controller, ours, now)
			return a.update(ctx, cp)
		}})
	}
}
