package traffic

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// discardWriter is a ResponseWriter that keeps nothing, so benchmarks
// measure the middleware.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var hello = []byte("hello")

// benchPass measures the pass-through path of a middleware: the request is
// admitted and the next handler answers a small body.
func benchPass(b *testing.B, def *config.Middleware) {
	h := build(b, def, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(hello) }))
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = "10.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 10.0.0.1")
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkRateLimit(b *testing.B) {
	benchPass(b, &config.Middleware{RateLimit: &config.RateLimit{Average: 1e9, Burst: 1e9}})
}

func BenchmarkRateLimitDepth(b *testing.B) {
	benchPass(b, &config.Middleware{RateLimit: &config.RateLimit{Average: 1e9, Burst: 1e9,
		SourceCriterion: &config.SourceCriterion{IPStrategy: &config.IPStrategy{Depth: 2}}}})
}

func BenchmarkInFlightReq(b *testing.B) {
	benchPass(b, &config.Middleware{InFlightReq: &config.InFlightReq{Amount: 10}})
}

func BenchmarkIPAllowList(b *testing.B) {
	benchPass(b, &config.Middleware{IPAllowList: &config.IPAllowList{SourceRange: []string{"192.168.0.0/16", "10.0.0.0/8"}}})
}

func BenchmarkBuffering(b *testing.B) {
	benchPass(b, &config.Middleware{Buffering: &config.Buffering{MaxResponseBodyBytes: 1 << 20}})
}

func BenchmarkRetry(b *testing.B) {
	benchPass(b, &config.Middleware{Retry: &config.Retry{Attempts: 3, InitialInterval: config.Duration(100 * time.Millisecond)}})
}

func BenchmarkRetryStatus(b *testing.B) {
	benchPass(b, &config.Middleware{Retry: &config.Retry{Attempts: 3, Status: []string{"502-504"}}})
}

func BenchmarkCircuitBreaker(b *testing.B) {
	benchPass(b, &config.Middleware{CircuitBreaker: &config.CircuitBreaker{
		Expression: "NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(99) > 500"}})
}
