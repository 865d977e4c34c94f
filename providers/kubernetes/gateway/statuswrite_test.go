package gateway

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestMergeConditions(t *testing.T) {
	old := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	current := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: old},
		{Type: "ResolvedRefs", Status: metav1.ConditionTrue, Reason: "ResolvedRefs", LastTransitionTime: old},
	}
	want := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "new message", ObservedGeneration: 2},
		{Type: "ResolvedRefs", Status: metav1.ConditionFalse, Reason: "BackendNotFound"},
		{Type: "PartiallyInvalid", Status: metav1.ConditionTrue, Reason: "UnsupportedValue"},
	}
	got := mergeConditions(current, want, now)
	for i, w := range []metav1.Time{old, now, now} {
		if !got[i].LastTransitionTime.Equal(&w) {
			t.Errorf("%s: transition time %v, want %v", got[i].Type, got[i].LastTransitionTime, w)
		}
	}
	if got[0].Message != "new message" || got[0].ObservedGeneration != 2 {
		t.Errorf("condition not updated: %+v", got[0])
	}
}

func TestRouteStatusKeepsOtherControllers(t *testing.T) {
	now := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	section := gwv1.SectionName("http")
	theirs := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "other"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"}}}
	stale := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "gone"}, ControllerName: ControllerName}
	current := gwv1.RouteStatus{Parents: []gwv1.RouteParentStatus{theirs, stale}}
	ours := []gwv1.RouteParentStatus{{ParentRef: gwv1.ParentReference{Name: "gw", SectionName: &section}, ControllerName: ControllerName,
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"}}}}
	got := routeStatus(current, ControllerName, ours, now)
	if len(got.Parents) != 2 || got.Parents[0].ControllerName != "example.com/other" || got.Parents[1].ParentRef.Name != "gw" {
		t.Fatalf("parents: %+v", got.Parents)
	}
	// Writing the same again changes nothing: the writer sees no difference.
	again := routeStatus(got, ControllerName, ours, metav1.NewTime(now.Add(time.Hour)))
	if !equality.Semantic.DeepEqual(got, again) {
		t.Errorf("a second merge changed the status:\n%+v\n%+v", got, again)
	}
	if ownsParents(routeStatus(got, ControllerName, nil, now), ControllerName) {
		t.Error("our entries were not removed")
	}
}
