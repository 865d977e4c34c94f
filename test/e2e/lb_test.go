package e2e

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// lbCheck is a fast active health check for tests: a dead server leaves
// rotation within interval + timeout.
const lbCheck = `
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 500ms`

func TestLBStrategiesKillAndRevive(t *testing.T) {
	t.Parallel()
	a, b, c := startLBBackend(t, "a"), startLBBackend(t, "b"), startLBBackend(t, "c")
	var cfg strings.Builder
	cfg.WriteString("http:\n  routers:\n")
	strategies := []string{"wrr", "p2c", "leastconn"}
	for _, s := range strategies {
		fmt.Fprintf(&cfg, "    %[1]s:\n      rule: \"Host('%[1]s.test')\"\n      service: %[1]s\n", s)
	}
	cfg.WriteString("  services:\n")
	for _, s := range strategies {
		fmt.Fprintf(&cfg, `    %s:
      loadBalancer:
        strategy: %s%s
        servers:
          - url: %q
            weight: 3
          - url: %q
          - url: %q
`, s, s, lbCheck, a.URL, b.URL, c.URL)
	}
	f := StartFerry(t, Options{Dynamic: dyn(cfg.String())})
	for _, s := range strategies {
		for _, be := range []*lbBackend{a, b, c} {
			f.lbWaitServer(s+"@file", be.URL, "UP")
		}
	}

	t.Run("distribution follows weights", func(t *testing.T) {
		f := f.For(t)
		for _, s := range strategies {
			const n = 500
			seen := f.lbSpread(s+".test", n)
			tolerance := 0.0 // wrr and leastconn (sequential requests tie on load) are exact
			if s == "p2c" {
				tolerance = 0.07
			}
			for name, share := range map[string]float64{"a": 0.6, "b": 0.2, "c": 0.2} {
				if d := math.Abs(float64(seen[name])/n - share); d > tolerance {
					t.Errorf("%s: %s got %d of %d, want share %.2f±%.2f (%v)", s, name, seen[name], n, share, tolerance, seen)
				}
			}
		}
	})

	t.Run("a killed server leaves rotation, a revived one returns", func(t *testing.T) {
		f := f.For(t)
		b.Kill()
		killed := time.Now()
		for _, s := range strategies {
			f.lbWaitServer(s+"@file", b.URL, "DOWN")
		}
		t.Logf("removed from rotation %s after the kill (interval 100ms, timeout 500ms)", time.Since(killed).Round(time.Millisecond))
		svc := f.lbService("wrr@file")
		if h := svc.ServerHealth[b.URL]; !strings.Contains(h.LastError, "refused") || h.LastChange == nil {
			t.Errorf("API server health for the dead server: %+v", h)
		}
		before := b.hits.Load()
		for _, s := range strategies {
			seen := f.lbSpread(s+".test", 60) // fails the test on any non-200
			if seen["b"] != 0 {
				t.Errorf("%s: dead server answered %d requests", s, seen["b"])
			}
		}
		if n := b.hits.Load() - before; n != 0 {
			t.Errorf("dead server received %d requests", n)
		}
		b.Revive()
		for _, s := range strategies {
			f.lbWaitServer(s+"@file", b.URL, "UP")
		}
		for _, s := range strategies {
			if seen := f.lbSpread(s+".test", 100); seen["b"] == 0 {
				t.Errorf("%s: revived server gets no traffic: %v", s, seen)
			}
		}
	})
}

func TestLBDownServerSurvivesEdits(t *testing.T) {
	t.Parallel()
	a, b, other := startLBBackend(t, "a"), startLBBackend(t, "b"), startLBBackend(t, "other")
	config := func(i int) string {
		return dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
    unrelated:
      rule: "Host('edit-%d.test')"
      service: other
  services:
    other:
      loadBalancer:
        servers:
          - url: %q
    app:
      loadBalancer:%s
          startHealthy: true
        servers:
          - url: %q
          - url: %q
`, i, other.URL, lbCheck, a.URL, b.URL)
	}
	f := StartFerry(t, Options{Dynamic: config(0)})
	f.lbWaitServer("app@file", b.URL, "UP")
	// b answers requests, but its health check fails. With startHealthy a
	// server whose state was forgotten would take requests at once.
	b.healthy.Store(false)
	f.lbWaitServer("app@file", b.URL, "DOWN")
	before := b.hits.Load()
	for i := 1; i <= 20; i++ {
		f.WriteDynamic(config(i))
		host := fmt.Sprintf("edit-%d.test", i)
		// Keep sending requests to app while the change is applied.
		for deadline := time.Now().Add(waitTimeout); ; {
			if res := f.Get(host, "/"); res.Status == http.StatusOK && res.Backend() == "other" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("edit %d never applied", i)
			}
			f.lbSpread("app.test", 3)
		}
		f.lbSpread("app.test", 3)
	}
	if n := b.hits.Load() - before; n != 0 {
		t.Fatalf("the DOWN server received %d requests during 20 unrelated edits", n)
	}
	if s := f.lbService("app@file"); s.ServerStatus[b.URL] != "DOWN" {
		t.Fatalf("after 20 edits the API shows %q", s.ServerStatus[b.URL])
	}
	// Dozens of failed checks, one state change: logged once.
	if n := strings.Count(f.Logs(), `"msg":"server failed its health check"`); n != 1 {
		t.Fatalf("UP->DOWN logged %d times, want once", n)
	}
	b.healthy.Store(true)
	f.lbWaitServer("app@file", b.URL, "UP")
	if seen := f.lbSpread("app.test", 10); seen["b"] != 5 {
		t.Fatalf("recovered server got %v", seen)
	}
}

func TestLBStickyRepinsOnce(t *testing.T) {
	t.Parallel()
	backends := []*lbBackend{startLBBackend(t, "a"), startLBBackend(t, "b"), startLBBackend(t, "c")}
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
  services:
    app:
      loadBalancer:%s
        sticky:
          cookie:
            name: pin
            httpOnly: true
        servers:
          - url: %q
          - url: %q
          - url: %q
`, lbCheck, backends[0].URL, backends[1].URL, backends[2].URL)})
	for _, be := range backends {
		f.lbWaitServer("app@file", be.URL, "UP")
	}
	res, cookies := f.lbDo("app.test")
	if len(cookies) != 1 || cookies[0].Name != "pin" {
		t.Fatalf("first answer set cookies %v", cookies)
	}
	pin, first := cookies[0], res.Backend()
	for _, be := range backends {
		if strings.Contains(pin.Value, be.Addr) || strings.Contains(pin.Value, portOf(t, be.Addr)) {
			t.Fatalf("cookie value %q reveals the server address %s", pin.Value, be.Addr)
		}
	}
	for range 20 {
		if res, cookies := f.lbDo("app.test", pin); res.Backend() != first || len(cookies) != 0 {
			t.Fatalf("pinned client went to %q (want %q), cookies %v", res.Backend(), first, cookies)
		}
	}
	var pinned *lbBackend
	for _, be := range backends {
		if be.Name == first {
			pinned = be
		}
	}
	pinned.Kill()
	f.lbWaitServer("app@file", pinned.URL, "DOWN")
	res, cookies = f.lbDo("app.test", pin)
	moved := res.Backend()
	if res.Status != http.StatusOK || moved == first || len(cookies) != 1 || cookies[0].Value == pin.Value {
		t.Fatalf("after its server died the client got %d from %q with cookies %v", res.Status, moved, cookies)
	}
	repin := cookies[0]
	pinned.Revive()
	f.lbWaitServer("app@file", pinned.URL, "UP")
	for range 20 {
		res, cookies := f.lbDo("app.test", repin)
		if res.Backend() != moved || len(cookies) != 0 {
			t.Fatalf("re-pinned client went to %q (want %q), cookies %v", res.Backend(), moved, cookies)
		}
	}
}

func TestLBMirroring(t *testing.T) {
	t.Parallel()
	main, mirror := startLBBackend(t, "main"), startLBBackend(t, "mirror")
	const mirrorDelay = 2 * time.Second
	mirror.delay.Store(int64(mirrorDelay))
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: mirrored
  services:
    mirrored:
      mirroring:
        service: main
        mirrors:
          - name: shadow
            percent: 20
    main:
      loadBalancer:
        servers:
          - url: %q
    shadow:
      loadBalancer:
        servers:
          - url: %q
`, main.URL, mirror.URL)})
	f.WaitRoute("app.test", "/", http.StatusOK, "main")
	mainBefore, mirrorBefore := main.hits.Load(), mirror.hits.Load()
	const n = 50
	var slowest time.Duration
	for i := range n {
		start := time.Now()
		res := f.Get("app.test", fmt.Sprintf("/req/%d", i))
		if res.Status != http.StatusOK || res.Backend() != "main" {
			t.Fatalf("request %d: %d from %q", i, res.Status, res.Backend())
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest >= mirrorDelay/2 {
		t.Fatalf("slowest main answer took %s with a mirror that takes %s: the mirror delays the main path", slowest, mirrorDelay)
	}
	deadline := time.Now().Add(waitTimeout)
	for mirror.hits.Load()-mirrorBefore < n/5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if got := mirror.hits.Load() - mirrorBefore; got != n/5 {
		t.Fatalf("mirror received %d of %d requests, want 20%% = %d", got, n, n/5)
	}
	if got := main.hits.Load() - mainBefore; got != n {
		t.Fatalf("main received %d of %d requests", got, n)
	}
	t.Logf("slowest main answer %s with a %s mirror", slowest.Round(time.Microsecond), mirrorDelay)
}

func TestLBFailover(t *testing.T) {
	t.Parallel()
	m1, m2, spare := startLBBackend(t, "m1"), startLBBackend(t, "m2"), startLBBackend(t, "spare")
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: fo
  services:
    fo:
      failover:
        service: main
        fallback: spare
    main:
      loadBalancer:%s
        servers:
          - url: %q
          - url: %q
    spare:
      loadBalancer:
        servers:
          - url: %q
`, lbCheck, m1.URL, m2.URL, spare.URL)})
	f.lbWaitServer("main@file", m1.URL, "UP")
	f.lbWaitServer("main@file", m2.URL, "UP")
	if seen := f.lbSpread("app.test", 10); seen["m1"] != 5 || seen["m2"] != 5 {
		t.Fatalf("healthy main: %v", seen)
	}
	m1.Kill()
	f.lbWaitServer("main@file", m1.URL, "DOWN")
	if seen := f.lbSpread("app.test", 10); seen["m2"] != 10 {
		t.Fatalf("main with one server left: %v", seen)
	}
	m2.Kill()
	f.lbWaitServer("main@file", m2.URL, "DOWN")
	if seen := f.lbSpread("app.test", 10); seen["spare"] != 10 {
		t.Fatalf("main all down: %v, want the fallback", seen)
	}
	m2.Revive()
	f.lbWaitServer("main@file", m2.URL, "UP")
	if seen := f.lbSpread("app.test", 10); seen["m2"] != 10 {
		t.Fatalf("main back: %v, want the main service again", seen)
	}
}
