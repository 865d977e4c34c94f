package traffic

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestCircuitBreaker(t *testing.T) {
	b, err := newCircuitBreaker(&config.CircuitBreaker{
		Expression:       "ResponseCodeRatio(500, 600, 0, 600) > 0.5",
		FallbackDuration: config.Duration(time.Second),
		RecoveryDuration: config.Duration(time.Second),
	}, zapNop())
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	b.now = func() int64 { return now }
	status := http.StatusInternalServerError
	calls := 0
	h := b.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++; w.WriteHeader(status) }))
	get := func() int { return serve(h, "GET", "/", "", nil, nil).Code }
	step := int64(10 * time.Millisecond)

	// Failing: the breaker opens at the first check that sees the ratio.
	for range 3 {
		if c := get(); c != 500 {
			t.Fatalf("before the check: %d, want the server's 500", c)
		}
		now += step
	}
	now += int64(100 * time.Millisecond)
	get() // completes after checkPeriod: the check trips the breaker
	calls = 0
	if c := get(); c != http.StatusServiceUnavailable || calls != 0 {
		t.Fatalf("open breaker: %d with %d calls to the server, want 503 and none", c, calls)
	}
	// The server heals; after fallbackDuration the traffic ramps up.
	status = http.StatusOK
	now += int64(time.Second)
	passed := 0
	for range 100 {
		now += int64(5 * time.Millisecond) // 100 requests over half the recovery
		if get() == 200 {
			passed++
		}
	}
	if passed < 10 || passed > 40 {
		t.Errorf("first half of the recovery: %d of 100 passed, want about a quarter", passed)
	}
	now += int64(600 * time.Millisecond)
	for i := range 10 {
		if c := get(); c != 200 {
			t.Fatalf("after recovery, request %d: %d, want 200", i, c)
		}
		now += step
	}
}

func TestCircuitBreakerReopensDuringRecovery(t *testing.T) {
	b, err := newCircuitBreaker(&config.CircuitBreaker{Expression: "NetworkErrorRatio() > 0.1", ResponseCode: 502}, zapNop())
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	b.now = func() int64 { return now }
	h := b.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetProxyError(w, errors.New("connection refused"))
		w.WriteHeader(http.StatusBadGateway)
	}))
	outer := &errRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(outer, httptest.NewRequest("GET", "/", nil))
	if outer.err == nil {
		t.Error("the proxy error was not passed on to the outer writer")
	}
	now += int64(200 * time.Millisecond)
	serve(h, "GET", "/", "", nil, nil) // trips
	if b.state != stateOpen {
		t.Fatalf("state %d after network errors, want open", b.state)
	}
	now += int64(10 * time.Second) // default fallbackDuration
	for b.state != stateOpen || now < int64(10200*time.Millisecond) {
		serve(h, "GET", "/", "", nil, nil)
		now += int64(50 * time.Millisecond)
		if now > int64(30*time.Second) {
			t.Fatal("the breaker did not open again while recovering onto a failing server")
		}
	}
	if w := serve(h, "GET", "/", "", nil, nil); w.Code != 502 {
		t.Errorf("open with responseCode 502: %d", w.Code)
	}
}

func TestCircuitBreakerErrors(t *testing.T) {
	tests := []struct {
		c    config.CircuitBreaker
		want string
	}{
		{config.CircuitBreaker{}, "circuitBreaker.expression: missing"},
		{config.CircuitBreaker{Expression: "NetworkErrorRatio() >"}, "circuitBreaker.expression: invalid expression"},
		{config.CircuitBreaker{Expression: "Latency() > 3"}, "circuitBreaker.expression: invalid expression \"Latency() > 3\": unknown function Latency()"},
		{config.CircuitBreaker{Expression: "NetworkErrorRatio() > 0.5", CheckPeriod: -1}, "circuitBreaker.checkPeriod"},
	}
	for _, tt := range tests {
		_, err := New(&config.Middleware{CircuitBreaker: &tt.c}, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("err = %v, want prefix %q", err, tt.want)
		}
	}
}

func TestWindowMetrics(t *testing.T) {
	var w window
	for i := range 100 {
		status := 200
		if i%4 == 0 {
			status = 503
		}
		w.record(int64(i)*int64(10*time.Millisecond), status, i%10 == 0, int64(i+1)*int64(time.Millisecond))
	}
	var s snapshot
	w.snapshot(int64(time.Second), &s)
	if got := s.networkErrorRatio(); got != 0.1 {
		t.Errorf("NetworkErrorRatio = %v, want 0.1", got)
	}
	if got := s.responseCodeRatio(500, 600, 0, 600); got != 0.25 {
		t.Errorf("ResponseCodeRatio = %v, want 0.25", got)
	}
	if got := s.latencyAtQuantileMS(50); got < 45 || got > 56 {
		t.Errorf("LatencyAtQuantileMS(50) = %v, want about 50", got)
	}
	if got := s.latencyAtQuantileMS(99); got < 95 || got > 112 {
		t.Errorf("LatencyAtQuantileMS(99) = %v, want about 99", got)
	}
	w.snapshot(int64(20*time.Second), &s)
	if s.total != 0 {
		t.Errorf("20s later the window still holds %d requests", s.total)
	}
}
