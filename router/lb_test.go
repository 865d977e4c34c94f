package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/health"
)

// hb is a test backend whose /health answer can be switched off.
type hb struct {
	url     string
	healthy atomic.Bool
	hits    atomic.Int64 // requests other than health checks
}

func healthBackend(t *testing.T, name string) *hb {
	t.Helper()
	b := &hb{}
	b.healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/health") {
			if !b.healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		w.Header().Set("X-Test-Backend", name)
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

// lbHarness builds tables like the Switcher does: with a health registry,
// syncing its checkers after each build.
type lbHarness struct {
	t   *testing.T
	reg *health.Registry
	tbl *Table
}

func newLBHarness(t *testing.T) *lbHarness {
	reg := health.NewRegistry(zap.NewNop(), health.Options{})
	t.Cleanup(reg.Close)
	return &lbHarness{t: t, reg: reg}
}

func (h *lbHarness) apply(cfg *config.Config) *Table {
	h.t.Helper()
	opts := testOptions(h.tbl)
	opts.Health = h.reg
	tbl := Build(Input{Config: cfg}, opts)
	if ps := tbl.Problems(); len(ps) != 0 {
		h.t.Fatalf("problems: %v", ps)
	}
	h.tbl = tbl
	h.reg.Sync(tbl.checkers())
	return tbl
}

// get serves one request through the current table and returns the status,
// the backend's name and the response.
func (h *lbHarness) get(host string, cookies ...*http.Cookie) (int, string, *http.Response) {
	sw := &Switcher{log: zap.NewNop(), entryPoints: testOptions(nil).EntryPoints}
	sw.table.Store(h.tbl)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	sw.Handler(0, false).ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("X-Test-Backend"), rec.Result()
}

// waitServer polls the API view of the current table until server url of
// service reports status.
func (h *lbHarness) waitServer(service, url, status string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, s := range h.tbl.Services() {
			if s.Name == service && s.ServerStatus[url] == status {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("service %s server %s never %s: %+v", service, url, status, h.tbl.Services())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checked(hc *config.HealthCheck, strategy string, urls ...string) *config.Service {
	s := lbService(urls...)
	s.LoadBalancer.HealthCheck = hc
	s.LoadBalancer.Strategy = strategy
	return s
}

func fastHC(path string) *config.HealthCheck {
	return &config.HealthCheck{Path: path, Interval: config.Duration(10 * time.Millisecond), Timeout: config.Duration(time.Second)}
}

func TestHealthStateSurvivesRebuilds(t *testing.T) {
	a, b, c := healthBackend(t, "a"), healthBackend(t, "b"), healthBackend(t, "c")
	h := newLBHarness(t)
	cfg := func(rule string, hc *config.HealthCheck, urls ...string) *config.Config {
		return &config.Config{HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"app":   {Rule: "Host(`app.test`)", Service: "app"},
				"app2":  {Rule: "Host(`app2.test`)", Service: "app"}, // a second router: still one check per server
				"other": {Rule: rule, Service: "other"},
			},
			Services: map[string]*config.Service{"app": checked(hc, "", urls...), "other": lbService(a.url)},
		}}
	}
	first := h.apply(cfg("Host(`o0.test`)", fastHC("/health"), a.url, b.url))
	h.waitServer("app", b.url, "UP")
	b.healthy.Store(false)
	h.waitServer("app", b.url, "DOWN")
	if st := h.tbl.Services()[0].ServerHealth[b.url]; !strings.Contains(st.LastError, "503") || st.LastChange == nil {
		t.Fatalf("server health %+v, want the failing check's error and change time", st)
	}

	t.Run("unrelated edits keep the service and its DOWN server", func(t *testing.T) {
		before := b.hits.Load()
		for i := range 20 {
			h.apply(cfg("Host(`o"+string(rune('a'+i))+".test`)", fastHC("/health"), a.url, b.url))
			if h.tbl.services["app"] != first.services["app"] {
				t.Fatal("unchanged service rebuilt")
			}
			for range 5 {
				if code, got, _ := h.get("app.test"); code != 200 || got != "a" {
					t.Fatalf("got %d from %q, want 200 from a", code, got)
				}
			}
		}
		if n := b.hits.Load() - before; n != 0 {
			t.Fatalf("DOWN server got %d requests", n)
		}
		if n := h.reg.Running(); n != 2 {
			t.Fatalf("%d checkers run for one service of two servers", n)
		}
	})

	t.Run("added server waits for its first check, DOWN server stays DOWN", func(t *testing.T) {
		c.healthy.Store(false) // c is not ready yet
		h.apply(cfg("Host(`o.test`)", fastHC("/health"), a.url, b.url, c.url))
		for range 30 {
			if _, got, _ := h.get("app.test"); got != "a" {
				t.Fatalf("request went to %q before its first passing check", got)
			}
		}
		h.waitServer("app", c.url, "DOWN")
		c.healthy.Store(true)
		h.waitServer("app", c.url, "UP")
		seen := map[string]int{}
		for range 10 {
			_, got, _ := h.get("app.test")
			seen[got]++
		}
		if seen["a"] != 5 || seen["c"] != 5 || seen["b"] != 0 {
			t.Fatalf("distribution %v, want a and c only, evenly", seen)
		}
	})

	t.Run("changed check definition keeps the last known state", func(t *testing.T) {
		h.apply(cfg("Host(`o.test`)", fastHC("/health/v2"), a.url, b.url, c.url))
		for range 10 {
			if _, got, _ := h.get("app.test"); got == "b" {
				t.Fatal("DOWN server picked right after its check changed")
			}
		}
		if n := h.reg.Running(); n != 3 {
			t.Fatalf("%d checkers running, want 3 (the old definition's are stopped)", n)
		}
	})

	t.Run("service removed stops its checks", func(t *testing.T) {
		h.apply(&config.Config{HTTP: config.HTTP{Services: map[string]*config.Service{"other": lbService(a.url)}}})
		if n := h.reg.Running(); n != 0 {
			t.Fatalf("%d checkers still running", n)
		}
	})
}

func TestPassiveStateCarriedPerServer(t *testing.T) {
	a := healthBackend(t, "a")
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := newLBHarness(t)
	mk := func(weight int) *config.Config {
		s := lbService(a.url, dead.URL)
		s.LoadBalancer.Servers[0].Weight = &weight
		s.LoadBalancer.PassiveHealthCheck = &config.PassiveHealthCheck{MaxFailedAttempts: 1, FailureWindow: config.Duration(time.Hour)}
		return &config.Config{HTTP: config.HTTP{
			Routers:  map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "app"}},
			Services: map[string]*config.Service{"app": s},
		}}
	}
	h.apply(mk(1))
	fails := 0
	for range 10 {
		if code, _, _ := h.get("app.test"); code != 200 {
			fails++
		}
	}
	if fails != 1 {
		t.Fatalf("%d failed requests, want exactly 1 before the dead server is ejected", fails)
	}
	old := h.tbl.services["app"]
	h.apply(mk(2)) // the service changes, the dead server's URL does not
	if h.tbl.services["app"] == old {
		t.Fatal("changed service reused")
	}
	for range 10 {
		if code, got, _ := h.get("app.test"); code != 200 || got != "a" {
			t.Fatalf("got %d from %q after rebuild: the ejection was forgotten", code, got)
		}
	}
	if st := h.tbl.Services()[0].ServerHealth[dead.URL]; st.Status != "DOWN" || st.EjectedUntil == nil {
		t.Fatalf("API shows %+v for the ejected server", st)
	}
	if h.tbl.services["app"].lb.members[0].state != old.lb.members[0].state {
		t.Fatal("per-server state (in-flight counter) not carried by URL")
	}
}

func TestStickyCookie(t *testing.T) {
	a, b, c := healthBackend(t, "a"), healthBackend(t, "b"), healthBackend(t, "c")
	h := newLBHarness(t)
	svc := checked(fastHC("/health"), "", a.url, b.url, c.url)
	svc.LoadBalancer.Sticky = &config.Sticky{Cookie: &config.Cookie{Name: "pin", HTTPOnly: true, SameSite: "lax"}}
	h.apply(&config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "app"}},
		Services: map[string]*config.Service{"app": svc},
	}})
	for _, u := range []string{a.url, b.url, c.url} {
		h.waitServer("app", u, "UP")
	}
	_, first, resp := h.get("app.test")
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "pin" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies %v", cookies)
	}
	pin := cookies[0]
	for _, u := range []string{a.url, b.url, c.url} {
		host := strings.TrimPrefix(u, "http://")
		if port := host[strings.LastIndexByte(host, ':')+1:]; strings.Contains(pin.Value, host) || strings.Contains(pin.Value, port) {
			t.Fatalf("cookie value %q reveals a server address", pin.Value)
		}
	}
	for range 20 {
		_, got, resp := h.get("app.test", pin)
		if got != first || len(resp.Cookies()) != 0 {
			t.Fatalf("pinned client went to %q (want %q) or got a new cookie", got, first)
		}
	}
	byName := map[string]*hb{"a": a, "b": b, "c": c}
	byName[first].healthy.Store(false)
	for _, u := range []string{a.url, b.url, c.url} {
		if byName[first].url == u {
			h.waitServer("app", u, "DOWN")
		}
	}
	_, moved, resp := h.get("app.test", pin)
	if moved == first || moved == "" || len(resp.Cookies()) != 1 {
		t.Fatalf("after its server went down the client went to %q with cookies %v", moved, resp.Cookies())
	}
	repin := resp.Cookies()[0]
	byName[first].healthy.Store(true)
	h.waitServer("app", byName[first].url, "UP")
	for range 10 {
		if _, got, _ := h.get("app.test", repin); got != moved {
			t.Fatalf("re-pinned client went to %q, want %q", got, moved)
		}
	}
}

func TestStickyValueIsKeyedHash(t *testing.T) {
	v := stickyValue("app@file", "http://10.0.0.1:8080")
	if v != stickyValue("app@file", "http://10.0.0.1:8080") || v == stickyValue("app@file", "http://10.0.0.2:8080") ||
		v == stickyValue("other@file", "http://10.0.0.1:8080") || len(v) != 24 || strings.Contains(v, "10.0.0.1") {
		t.Fatalf("sticky value %q: want a stable 24-hex hash per service and server", v)
	}
}
