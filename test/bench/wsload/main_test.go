package main

import (
	"testing"
	"time"
)

func TestHistQuantile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"exact below 64ns", []time.Duration{10, 20, 30}, 0.5, 20},
		{"one sample", []time.Duration{time.Millisecond}, 0.99, time.Millisecond},
		{"p50 of 1..100us", series(100, time.Microsecond), 0.5, 50 * time.Microsecond},
		{"p99 of 1..100us", series(100, time.Microsecond), 0.99, 99 * time.Microsecond},
		{"large", []time.Duration{3 * time.Second}, 0.5, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist
			for _, d := range tt.samples {
				h.record(d)
			}
			got := h.quantile(tt.q)
			if diff := got - tt.want; diff < -tt.want/25 || diff > tt.want/25 {
				t.Errorf("quantile(%v) = %v, want %v within 4%%", tt.q, got, tt.want)
			}
		})
	}
}

func TestBucketBounds(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 63, 64, 65, 1000, time.Millisecond, time.Hour} {
		i := bucketOf(d)
		if d < time.Hour && (lowOf(i) > d || (i+1 < histBuckets && lowOf(i+1) <= d)) {
			t.Errorf("%v in bucket %d [%v, %v)", d, i, lowOf(i), lowOf(i+1))
		}
	}
}

// series returns step, 2*step, ..., n*step.
func series(n int, step time.Duration) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Duration(i+1) * step
	}
	return s
}
