package traffic

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestRateLimit(t *testing.T) {
	l, err := newRateLimit(&config.RateLimit{Average: 1, Period: config.Duration(time.Minute), Burst: 3})
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	l.now = func() int64 { return now }
	h := l.wrap(okHandler)
	for i := range 3 {
		if w := serve(h, "GET", "/", "10.0.0.1:1000", nil, nil); w.Code != http.StatusOK {
			t.Fatalf("request %d within burst: status %d", i+1, w.Code)
		}
	}
	w := serve(h, "GET", "/", "10.0.0.1:1001", nil, nil)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("over the limit: status %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60 (one token per minute)", got)
	}
	if w := serve(h, "GET", "/", "10.0.0.2:1000", nil, nil); w.Code != http.StatusOK {
		t.Errorf("another client: status %d, want 200", w.Code)
	}
	now += int64(30 * time.Second)
	if w := serve(h, "GET", "/", "10.0.0.1:1000", nil, nil); w.Header().Get("Retry-After") != "30" {
		t.Errorf("half a period later: Retry-After = %q, want 30", w.Header().Get("Retry-After"))
	}
	now += int64(30 * time.Second)
	if w := serve(h, "GET", "/", "10.0.0.1:1000", nil, nil); w.Code != http.StatusOK {
		t.Errorf("after a refill: status %d, want 200", w.Code)
	}
}

func TestRateLimitByHeader(t *testing.T) {
	h := build(t, &config.Middleware{RateLimit: &config.RateLimit{Average: 1, Period: config.Duration(time.Hour),
		SourceCriterion: &config.SourceCriterion{RequestHeaderName: "X-Api-Key"}}}, okHandler)
	if w := serve(h, "GET", "/", "10.0.0.1:1", map[string]string{"X-Api-Key": "a"}, nil); w.Code != 200 {
		t.Fatalf("first request of key a: %d", w.Code)
	}
	if w := serve(h, "GET", "/", "10.0.0.2:1", map[string]string{"X-Api-Key": "a"}, nil); w.Code != 429 {
		t.Errorf("key a from another IP: %d, want 429", w.Code)
	}
	if w := serve(h, "GET", "/", "10.0.0.1:1", map[string]string{"X-Api-Key": "b"}, nil); w.Code != 200 {
		t.Errorf("key b: %d, want 200", w.Code)
	}
}

func TestRateLimitSmoothsShortWaits(t *testing.T) {
	// 100/s with a burst of 1: a second request 5ms early waits for its token.
	l, err := newRateLimit(&config.RateLimit{Average: 100, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.take("k", 0); !ok {
		t.Fatal("first token refused")
	}
	wait, ok := l.take("k", int64(5*time.Millisecond))
	if !ok || wait != int64(5*time.Millisecond) {
		t.Errorf("take 5ms early = %v, %v; want 5ms, true", time.Duration(wait), ok)
	}
	if _, ok := l.take("k", int64(5*time.Millisecond)); ok {
		t.Error("a third request 15ms early was admitted")
	}
}

func TestRateLimitEvictsIdleBuckets(t *testing.T) {
	l, err := newRateLimit(&config.RateLimit{Average: 10, Burst: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		l.take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), 0)
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("buckets = %d, want 1000", n)
	}
	// Full again after 0.5s; sweeps happen at most once a second per shard.
	for i := range 1000 {
		l.take(fmt.Sprintf("k%d", i), int64(2*time.Second))
	}
	if n := l.size(); n > 1000 {
		t.Errorf("after the idle buckets refilled: %d buckets, want the 1000 new ones only", n)
	}
	// However many clients, memory stays bounded.
	for i := range rlShards*rlMaxPerShard + 5000 {
		l.take(fmt.Sprintf("c%d", i), int64(3*time.Second))
	}
	if n := l.size(); n > rlShards*rlMaxPerShard {
		t.Errorf("buckets = %d, want at most %d", n, rlShards*rlMaxPerShard)
	}
}

func TestRateLimitErrors(t *testing.T) {
	tests := []struct {
		name string
		c    config.RateLimit
		want string
	}{
		{"no average", config.RateLimit{Period: config.Duration(time.Second)}, "rateLimit.average"},
		{"negative burst", config.RateLimit{Average: 1, Burst: -1}, "rateLimit.burst"},
		{"bad excluded IP", config.RateLimit{Average: 1, SourceCriterion: &config.SourceCriterion{
			IPStrategy: &config.IPStrategy{ExcludedIPs: []string{"10.0.0.300"}}}}, "rateLimit.sourceCriterion.ipStrategy.excludedIPs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{RateLimit: &tt.c}, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestRateLimitConcurrent(t *testing.T) {
	h := build(t, &config.Middleware{RateLimit: &config.RateLimit{Average: 1, Period: config.Duration(time.Hour), Burst: 50}}, okHandler)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 100 {
				if serve(h, "GET", "/", fmt.Sprintf("10.0.0.%d:1", g%2), nil, nil).Code == 200 {
					passed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != 100 {
		t.Errorf("%d requests passed, want exactly 2 clients x burst 50", n)
	}
}
