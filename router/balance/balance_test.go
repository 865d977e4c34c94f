package balance

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"
)

func nodes(weights []int, health []Availability) []Node[int] {
	out := make([]Node[int], len(weights))
	for i, w := range weights {
		out[i] = Node[int]{Weight: w, Value: i, Load: new(atomic.Int64)}
		if health != nil {
			h := health[i]
			out[i].Health = func() Availability { return h }
		}
	}
	return out
}

func counts(t *testing.T, b *Balancer[int], picks int) []int {
	t.Helper()
	got := make([]int, b.Len())
	for range picks {
		i, ok := b.Next()
		if !ok {
			t.Fatal("no pick")
		}
		got[b.Node(i).Value]++
	}
	return got
}

func TestDistributionFollowsWeights(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		health  []Availability
		want    []float64 // shares
	}{
		{"equal", []int{1, 1}, nil, []float64{0.5, 0.5}},
		{"three to one", []int{3, 1}, nil, []float64{0.75, 0.25}},
		{"zero weight never picked", []int{2, 0, 1}, nil, []float64{2. / 3, 0, 1. / 3}},
		{"unavailable skipped", []int{1, 1, 1}, []Availability{Available, Unavailable, Available}, []float64{0.5, 0, 0.5}},
		{"fallback only when nothing is available", []int{1, 1}, []Availability{Fallback, Available}, []float64{0, 1}},
		{"fallback when nothing else", []int{1, 3}, []Availability{Fallback, Unavailable}, []float64{1, 0}},
	}
	for _, strategy := range []string{WRR, P2C, LeastConn} {
		for _, tt := range tests {
			t.Run(strategy+"/"+tt.name, func(t *testing.T) {
				b, err := New(strategy, nodes(tt.weights, tt.health))
				if err != nil {
					t.Fatal(err)
				}
				const picks = 20000
				got := counts(t, b, picks)
				tolerance := 1.0 / picks // exact up to rounding
				if strategy == P2C {
					tolerance = 0.03 // random sampling
				}
				for i, share := range tt.want {
					if d := math.Abs(float64(got[i])/picks - share); d > tolerance+1e-9 {
						t.Fatalf("node %d got %d of %d picks, want share %.3f (±%.2f)", i, got[i], picks, share, tolerance)
					}
				}
			})
		}
	}
}

func TestWRRSmooth(t *testing.T) {
	// 5:1:1 must interleave (a a b a c a a), never five a's in a row.
	b, _ := New(WRR, nodes([]int{5, 1, 1}, nil))
	var seq string
	for range 7 {
		i, _ := b.Next()
		seq += string(rune('a' + i))
	}
	if seq != "aabacaa" {
		t.Fatalf("sequence %q, want aabacaa", seq)
	}
}

func TestLoadAwareStrategiesAvoidBusyNode(t *testing.T) {
	for _, strategy := range []string{P2C, LeastConn} {
		t.Run(strategy, func(t *testing.T) {
			ns := nodes([]int{1, 1, 1}, nil)
			ns[0].Load.Store(50) // a slow server with many requests in flight
			b, _ := New(strategy, ns)
			got := counts(t, b, 3000)
			// leastconn never picks it; p2c only when both samples hit it (1/9).
			limit := 0
			if strategy == P2C {
				limit = 3000 / 9 * 13 / 10
			}
			if got[0] > limit {
				t.Fatalf("busy node picked %d times (limit %d): %v", got[0], limit, got)
			}
		})
	}
}

func TestLeastConnHonoursWeightsUnderLoad(t *testing.T) {
	ns := nodes([]int{3, 1}, nil)
	ns[0].Load.Store(5) // 5/3 per weight
	ns[1].Load.Store(2) // 2/1 per weight: heavier
	b, _ := New(LeastConn, ns)
	if i, _ := b.Next(); i != 0 {
		t.Fatalf("picked %d, want the weight-3 node whose load per weight is lower", i)
	}
}

func TestNoPick(t *testing.T) {
	for _, strategy := range []string{WRR, P2C, LeastConn} {
		for _, tc := range []struct {
			weights []int
			health  []Availability
		}{{nil, nil}, {[]int{0}, nil}, {[]int{1, 2}, []Availability{Unavailable, Unavailable}}} {
			b, _ := New(strategy, nodes(tc.weights, tc.health))
			if _, ok := b.Next(); ok {
				t.Fatalf("%s picked from %v %v", strategy, tc.weights, tc.health)
			}
			if b.Healthy() {
				t.Fatalf("%s healthy with %v %v", strategy, tc.weights, tc.health)
			}
		}
	}
	if _, err := New[int]("random", nil); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

func TestCarryCurrentContinuesSequence(t *testing.T) {
	key := func(v int) string { return fmt.Sprint(v) }
	a, _ := New(WRR, nodes([]int{2, 1}, nil))
	a.Next() // picks 0; current becomes [-1, 1]
	b, _ := New(WRR, nodes([]int{2, 1}, nil))
	b.CarryCurrent(a, key)
	if i, _ := b.Next(); i != 1 {
		t.Fatalf("rebuilt balancer picked %d, want 1 (the sequence continues)", i)
	}
}

// BenchmarkPick measures one pick per strategy with every node behind a
// health function, as in a service with health checks.
func BenchmarkPick(b *testing.B) {
	for _, strategy := range []string{WRR, P2C, LeastConn} {
		for _, n := range []int{2, 10, 100} {
			b.Run(fmt.Sprintf("%s/%d", strategy, n), func(b *testing.B) {
				weights := make([]int, n)
				for i := range weights {
					weights[i] = 1 + i%3
				}
				health := make([]Availability, n)
				lb, _ := New(strategy, nodes(weights, health))
				b.ReportAllocs()
				for b.Loop() {
					i, _ := lb.Next()
					l := lb.Node(i).Load
					l.Add(1)
					l.Add(-1)
				}
			})
		}
	}
}
