package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRetryToSecondServer(t *testing.T) {
	b := StartBackend(t, "b", map[string]http.HandlerFunc{
		"/upload": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Backend", "b")
			_, _ = w.Write(body)
		},
	})
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    retried:
      rule: "Host('retry.test')"
      service: svc
      middlewares: [retry]
    plain:
      rule: "Host('plain.test')"
      service: svc
  middlewares:
    retry:
      retry:
        attempts: 2
        initialInterval: 10ms
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
          - url: "%s"
`, closedURL(t), b.URL)})
	c := clientFrom(t, f, "127.0.0.1")
	waitFor(t, waitTimeout, "retry.test served", func() (bool, string) {
		res := c.get("retry.test", "/")
		return res.Status == 200, fmt.Sprint(res.Status)
	})
	failed := 0
	for range 4 {
		if res := c.get("plain.test", "/"); res.Status == http.StatusBadGateway {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("without retry, no request met the refusing server: the test does not test anything")
	}
	for i := range 6 {
		if res := c.get("retry.test", "/"); res.Status != 200 || res.Backend() != "b" {
			t.Errorf("GET %d with retry: %d from %q, want 200 from b", i, res.Status, res.Backend())
		}
		res := c.do("POST", "retry.test", "/upload", nil, strings.NewReader(fmt.Sprintf("payload-%d", i)))
		if res.Status != 200 || string(res.Body) != fmt.Sprintf("payload-%d", i) {
			t.Errorf("POST %d with retry: %d %q, want 200 with the body sent again", i, res.Status, res.Body)
		}
	}
}

func TestCircuitBreaker(t *testing.T) {
	var failing atomic.Bool
	var hits atomic.Int64
	failing.Store(true)
	b := StartBackend(t, "b", map[string]http.HandlerFunc{
		"/flaky": func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("X-Backend", "b")
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		},
	})
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    guarded:
      rule: "Host('cb.test')"
      service: svc
      middlewares: [breaker]
    typo:
      rule: "Host('typo.test')"
      service: svc
      middlewares: [bad-breaker]
  middlewares:
    breaker:
      circuitBreaker:
        expression: "ResponseCodeRatio(500, 600, 0, 600) > 0.5"
        checkPeriod: 100ms
        fallbackDuration: 2s
        recoveryDuration: 2s
    bad-breaker:
      circuitBreaker:
        expression: "NetworkErrorRatio() >> 0.5"
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, b.URL)})
	c := clientFrom(t, f, "127.0.0.1")
	f.WaitRoute("cb.test", "/", 200, "b")

	// The server fails: the breaker opens and answers 503 itself.
	waitFor(t, waitTimeout, "breaker open", func() (bool, string) {
		res := c.get("cb.test", "/flaky")
		return res.Status == http.StatusServiceUnavailable && res.Backend() == "", fmt.Sprintf("%d from %q", res.Status, res.Backend())
	})
	before := hits.Load()
	for range 5 {
		if res := c.get("cb.test", "/flaky"); res.Status != http.StatusServiceUnavailable {
			t.Errorf("open breaker: %d, want 503", res.Status)
		}
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("open breaker let %d requests reach the server", n)
	}

	// The server heals: after fallbackDuration traffic ramps back up.
	failing.Store(false)
	var sawRamp bool
	var firstOK bool
	consecutive := 0
	waitFor(t, 4*waitTimeout/2, "breaker closed again", func() (bool, string) {
		res := c.get("cb.test", "/flaky")
		switch {
		case res.Status == 200:
			firstOK = true
			consecutive++
		case res.Status == http.StatusServiceUnavailable:
			sawRamp = sawRamp || firstOK
			consecutive = 0
		default:
			t.Fatalf("unexpected status %d", res.Status)
		}
		return consecutive >= 20, fmt.Sprintf("%d consecutive 200s", consecutive)
	})
	if !sawRamp {
		t.Error("recovery let every request through at once, want a ramp (some 503s after the first 200)")
	}

	status, errs := middlewareStatus(f, "bad-breaker@file")
	if status != "disabled" || !strings.Contains(strings.Join(errs, " "), "circuitBreaker.expression") {
		t.Errorf("bad expression: status %q errors %q, want disabled naming circuitBreaker.expression", status, errs)
	}
	if res := c.get("typo.test", "/"); res.Status != http.StatusNotFound {
		t.Errorf("router using the bad breaker: %d, want 404 (disabled)", res.Status)
	}
}
