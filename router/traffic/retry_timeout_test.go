package traffic

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// TestRetryTimeout: no try starts once retry.timeout has passed since the
// first, however many attempts are left; the client gets the last answer.
func TestRetryTimeout(t *testing.T) {
	tests := []struct {
		name      string
		timeout   time.Duration
		wantTries int64
	}{
		// Waits of 20, 40, 80, 160 ms: the 2nd try starts at 20 ms, the 3rd at 60 ms, the 4th at 140 ms.
		{"no timeout: every attempt", 0, 5},
		{"timeout 100ms: three tries", 100 * time.Millisecond, 3},
		{"timeout 10ms: the first try only", 10 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tries atomic.Int64
			refused := proxyTo(t, "http://"+closedAddr(t))
			counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tries.Add(1); refused.ServeHTTP(w, r) })
			h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 5, InitialInterval: config.Duration(20 * time.Millisecond),
				Timeout: config.Duration(tt.timeout)}}, counted)
			w := &errRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != http.StatusBadGateway || tries.Load() != tt.wantTries {
				t.Fatalf("got %d after %d tries, want 502 after %d", w.Code, tries.Load(), tt.wantTries)
			}
			if w.err == nil || !isRefused(w.err) {
				t.Errorf("outer writer told %v, want the last connection error", w.err)
			}
		})
	}
}
