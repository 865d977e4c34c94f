package balance

import (
	"fmt"
	"testing"
)

func TestWRRDistribution(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		picks   int
		want    []int
	}{
		{"equal", []int{1, 1}, 10, []int{5, 5}},
		{"three to one", []int{3, 1}, 1000, []int{750, 250}},
		{"zero weight never picked", []int{2, 0, 1}, 300, []int{200, 0, 100}},
		{"single", []int{5}, 7, []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var targets []Target[int]
			for i, w := range tt.weights {
				targets = append(targets, Target[int]{Key: fmt.Sprint(i), Weight: w, Value: i})
			}
			b := NewWRR(targets)
			got := make([]int, len(tt.weights))
			for range tt.picks {
				v, ok := b.Next()
				if !ok {
					t.Fatal("no pick")
				}
				got[v]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWRRSmooth(t *testing.T) {
	// 5:1:1 must interleave (a a b a c a a), never five a's in a row.
	b := NewWRR([]Target[string]{{"a", 5, "a"}, {"b", 1, "b"}, {"c", 1, "c"}})
	var seq string
	for range 7 {
		v, _ := b.Next()
		seq += v
	}
	if seq != "aabacaa" {
		t.Fatalf("sequence %q, want aabacaa", seq)
	}
}

func TestWRREmpty(t *testing.T) {
	for _, targets := range [][]Target[int]{nil, {{"x", 0, 1}}} {
		if _, ok := NewWRR(targets).Next(); ok {
			t.Fatalf("picked from %v", targets)
		}
	}
}

func BenchmarkWRRNext(b *testing.B) {
	for _, n := range []int{2, 10, 100} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var targets []Target[int]
			for i := range n {
				targets = append(targets, Target[int]{Key: fmt.Sprint(i), Weight: 1 + i%3, Value: i})
			}
			lb := NewWRR(targets)
			b.ReportAllocs()
			for b.Loop() {
				lb.Next()
			}
		})
	}
}
