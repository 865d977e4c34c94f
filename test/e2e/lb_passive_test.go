package e2e

import (
	"net/http"
	"testing"
	"time"
)

func TestLBPassiveEjection(t *testing.T) {
	t.Parallel()
	a, b, c := startLBBackend(t, "a"), startLBBackend(t, "b"), startLBBackend(t, "c")
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
  services:
    app:
      loadBalancer:
        passiveHealthCheck:
          maxFailedAttempts: 1
          failureWindow: 500ms
        servers:
          - url: %q
          - url: %q
          - url: %q
`, a.URL, b.URL, c.URL)})
	f.WaitRoute("app.test", "/", http.StatusOK, "")
	b.Kill()
	failed := 0
	for range 30 {
		res, err := f.Do(http.MethodGet, "app.test", "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusOK {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d of 30 requests failed after a server died, want exactly 1 (then it is ejected)", failed)
	}
	if s := f.lbService("app@file"); s.ServerStatus[b.URL] != "DOWN" || s.ServerHealth[b.URL].LastError == "" {
		t.Fatalf("API shows %+v for the ejected server", s.ServerHealth[b.URL])
	}
	b.Revive()
	// After the ejection (500ms) real requests probe it back in.
	deadline := time.Now().Add(waitTimeout)
	for {
		if seen := f.lbSpread("app.test", 3); seen["b"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revived server never taken back into rotation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.lbWaitServer("app@file", b.URL, "UP")
}
