package gateway

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Status is what the build found for each object it is responsible for:
// the status to write back. Conditions carry no transition time; the
// writer keeps the time of a condition whose status did not change.
type Status struct {
	// GatewayClasses are the conditions of Ferry's GatewayClasses, by name.
	GatewayClasses map[string][]metav1.Condition `json:"gatewayClasses,omitempty"`
	// Gateways are the statuses of the Gateways of those classes, by
	// namespace/name.
	Gateways map[string]*gwv1.GatewayStatus `json:"gateways,omitempty"`
	// Routes are, by "Kind/namespace/name", the parent statuses Ferry owns
	// (one per parentRef naming one of its Gateways). A route missing here
	// has none; entries of other controllers are not Ferry's to change.
	Routes map[string][]gwv1.RouteParentStatus `json:"routes,omitempty"`
}

// cond is a condition with the object's generation and no time yet.
func cond[T ~string, R ~string](typ T, ok bool, reason R, message string, generation int64) metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return metav1.Condition{
		Type: string(typ), Status: st, Reason: string(reason), Message: message,
		ObservedGeneration: generation,
	}
}

// check is the outcome of one condition while it is worked out: ok until
// the first failure, whose reason and message it keeps.
type check struct {
	failed  bool
	reason  string
	message string
}

// fail records a failure; the first one wins.
func (c *check) fail(reason, message string) {
	if !c.failed {
		c.failed, c.reason, c.message = true, reason, message
	}
}

// condition turns the check into a condition; okReason and okMessage are
// used when nothing failed.
func (c check) condition(typ, okReason, okMessage string, generation int64) metav1.Condition {
	if c.failed {
		return cond(typ, false, c.reason, c.message, generation)
	}
	return cond(typ, true, okReason, okMessage, generation)
}

// routeKey names a route in Status.Routes.
func routeKey(kind string, k nsName) string { return kind + "/" + k.Namespace + "/" + k.Name }
