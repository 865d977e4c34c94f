package traffic

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestRetryNetworkError(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		_, _ = io.WriteString(w, "second")
	}))
	defer srv.Close()
	lb := &roundRobin{hs: []http.Handler{proxyTo(t, "http://"+closedAddr(t)), proxyTo(t, srv.URL)}}
	h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 2, InitialInterval: config.Duration(time.Millisecond)}}, lb)

	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			bodies = nil
			lb.n.Store(0)
			w := &errRecorder{ResponseRecorder: httptest.NewRecorder()}
			r := httptest.NewRequest(method, "/", strings.NewReader("payload"))
			h.ServeHTTP(w, r)
			if w.Code != 200 || w.Body.String() != "second" {
				t.Fatalf("got %d %q, want 200 from the second server", w.Code, w.Body.String())
			}
			if len(bodies) != 1 || bodies[0] != "payload" {
				t.Errorf("second server got bodies %q, want the request body once", bodies)
			}
			if w.err != nil {
				t.Errorf("a retried error reached the outer writer: %v", w.err)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	var tries atomic.Int64
	refused := proxyTo(t, "http://"+closedAddr(t))
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tries.Add(1); refused.ServeHTTP(w, r) })
	h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 3}}, counted)
	w := &errRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusBadGateway || tries.Load() != 3 {
		t.Errorf("got %d after %d tries, want 502 after 3", w.Code, tries.Load())
	}
	if w.err == nil || !isRefused(w.err) {
		t.Errorf("outer writer told %v, want the last connection error", w.err)
	}
}

func TestRetryStatus(t *testing.T) {
	var tries atomic.Int64
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			w.Header().Set("X-Attempt", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "unavailable")
			return
		}
		w.Header().Set("X-Ok", "yes")
		_, _ = io.WriteString(w, "ok")
	})
	h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 2, Status: []string{"500-599"}}}, flaky)
	tests := []struct {
		method string
		want   int
		tries  int64
	}{{"GET", 200, 2}, {"PUT", 200, 2}, {"POST", 503, 1}}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			tries.Store(0)
			w := serve(h, tt.method, "/", "", nil, strings.NewReader("x"))
			if w.Code != tt.want || tries.Load() != tt.tries {
				t.Errorf("got %d after %d tries, want %d after %d", w.Code, tries.Load(), tt.want, tt.tries)
			}
			if tt.want == 200 && (w.Header().Get("X-Attempt") != "" || w.Header().Get("X-Ok") != "yes" || w.Body.String() != "ok") {
				t.Errorf("headers %v body %q: the discarded attempt leaked", w.Header(), w.Body.String())
			}
		})
	}
	t.Run("retryNonIdempotentMethod", func(t *testing.T) {
		tries.Store(0)
		h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 2, Status: []string{"503"}, RetryNonIdempotentMethod: true}}, flaky)
		if w := serve(h, "POST", "/", "", nil, strings.NewReader("x")); w.Code != 200 {
			t.Errorf("POST: %d, want 200", w.Code)
		}
	})
}

func TestRetryNotAfterBytesSent(t *testing.T) {
	var tries atomic.Int64
	h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 3}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		SetProxyError(w, errors.New("connection reset")) // as if the proxy failed mid-way
	}))
	w := &errRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if tries.Load() != 1 || w.Body.String() != "partial" || w.err == nil {
		t.Errorf("tries %d, body %q, error passed on %v: want 1 try, the partial body, the error", tries.Load(), w.Body.String(), w.err)
	}
}

func TestRetryBodyTooLargeToReplay(t *testing.T) {
	var tries atomic.Int64
	h := build(t, &config.Middleware{Retry: &config.Retry{Attempts: 3, MaxRequestBodyBytes: 4}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		_, _ = io.ReadAll(r.Body) // the body went upstream, then the connection failed
		SetProxyError(w, errors.New("connection reset"))
		w.WriteHeader(http.StatusBadGateway)
	}))
	w := serve(h, "PUT", "/", "", nil, strings.NewReader("0123456789"))
	if w.Code != http.StatusBadGateway || tries.Load() != 1 {
		t.Errorf("got %d after %d tries, want 502 after 1", w.Code, tries.Load())
	}
}

func TestRetryErrors(t *testing.T) {
	tests := []struct {
		c    config.Retry
		want string
	}{
		{config.Retry{}, "retry.attempts"},
		{config.Retry{Attempts: 2, Status: []string{"5xx"}}, `retry.status[0]: invalid status or range "5xx"`},
		{config.Retry{Attempts: 2, DisableRetryOnNetworkError: true}, "retry.disableRetryOnNetworkError"},
	}
	for _, tt := range tests {
		_, err := New(&config.Middleware{Retry: &tt.c}, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("err = %v, want prefix %q", err, tt.want)
		}
	}
}
