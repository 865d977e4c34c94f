package e2e

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	closed := freeAddr(t) // nothing listens here: connections are refused
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    host-a:
      rule: "Host('a.test')"
      service: svc-a
    host-b:
      rule: "Host('b.test')"
      service: svc-b
    only-path:
      rule: "Path('/only-path')"
      service: svc-b
    p-root:
      rule: "Host('p.test')"
      service: svc-a
    p-api:
      rule: "Host('p.test') && PathPrefix('/api')"
      service: svc-b
    prio-explicit:
      rule: "Host('prio.test')"
      priority: 1000
      service: svc-a
    prio-long:
      rule: "Host('prio.test') && PathPrefix('/x')"
      service: svc-b
    r-gone:
      rule: "Host('gone.test')"
      service: svc-gone
    r-empty:
      rule: "Host('empty.test')"
      service: svc-empty
    r-zero:
      rule: "Host('zero.test')"
      service: svc-zero
  services:
    svc-a:
      loadBalancer:
        servers:
          - url: "%[1]s"
    svc-b:
      loadBalancer:
        servers:
          - url: "%[2]s"
    svc-gone:
      loadBalancer:
        servers:
          - url: "http://%[3]s"
    svc-empty:
      loadBalancer:
        servers: []
    svc-zero:
      loadBalancer:
        servers:
          - url: "%[1]s"
            weight: 0
`, a.URL, b.URL, closed)})
	f.WaitRoute("zero.test", "/", http.StatusServiceUnavailable, "")
	f.WaitRoute("a.test", "/", http.StatusOK, "a")

	webPort := portOf(t, f.Web)
	tests := []struct {
		name        string
		host, path  string
		wantStatus  int
		wantBackend string
	}{
		{"host a", "a.test", "/", 200, "a"},
		{"host b", "b.test", "/some/path", 200, "b"},
		{"host with port", "a.test:" + webPort, "/", 200, "a"},
		{"host is case-insensitive", "A.Test", "/", 200, "a"},
		{"path rule without host", "unknown.test", "/only-path", 200, "b"},
		{"longer host-less rule beats shorter host rule", "a.test", "/only-path", 200, "b"},
		{"longer rule wins by default", "p.test", "/api/users", 200, "b"},
		{"shorter rule catches the rest", "p.test", "/other", 200, "a"},
		{"explicit priority beats longer rule", "prio.test", "/x/y", 200, "a"},
		{"no router matches", "nothing.test", "/", 404, ""},
		{"path outside host-less rule", "unknown.test", "/other", 404, ""},
		{"server does not answer", "gone.test", "/", 502, ""},
		{"service without servers", "empty.test", "/", 503, ""},
		{"service with only weight 0", "zero.test", "/", 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := f.For(t)
			res := f.Get(tc.host, tc.path)
			if res.Status != tc.wantStatus {
				t.Fatalf("GET %s%s: status %d, want %d (backend %q)", tc.host, tc.path, res.Status, tc.wantStatus, res.Backend())
			}
			if tc.wantBackend != "" {
				if res.Backend() != tc.wantBackend {
					t.Fatalf("GET %s%s: answered by %q, want %q", tc.host, tc.path, res.Backend(), tc.wantBackend)
				}
				if res.Echo.Path != tc.path {
					t.Fatalf("backend saw path %q, want %q", res.Echo.Path, tc.path)
				}
			}
		})
	}

	t.Run("services api", func(t *testing.T) {
		f := f.For(t)
		var services []struct {
			Name         string            `json:"name"`
			Provider     string            `json:"provider"`
			Status       string            `json:"status"`
			UsedBy       []string          `json:"usedBy"`
			ServerStatus map[string]string `json:"serverStatus"`
		}
		f.APIGet("/api/http/services", &services)
		var names []string
		for _, s := range services {
			names = append(names, s.Name)
			if s.Name != "svc-a@file" {
				continue
			}
			if s.Status != "enabled" || s.Provider != "file" {
				t.Errorf("svc-a@file: status %q provider %q", s.Status, s.Provider)
			}
			if !containsAll(strings.Join(s.UsedBy, ","), "host-a@file", "p-root@file", "prio-explicit@file") {
				t.Errorf("svc-a@file usedBy %v, want host-a@file, p-root@file, prio-explicit@file", s.UsedBy)
			}
			if s.ServerStatus[a.URL] != "UP" {
				t.Errorf("svc-a@file serverStatus %v, want %s UP", s.ServerStatus, a.URL)
			}
		}
		if !sort.StringsAreSorted(names) || len(names) != 5 {
			t.Errorf("services %v, want 5 sorted by name", names)
		}
		var middlewares []any
		f.APIGet("/api/http/middlewares", &middlewares)
		if len(middlewares) != 0 {
			t.Errorf("middlewares %v, want none", middlewares)
		}
	})

	// A 502 or 503 is explained in the log with the router and the service.
	logTests := []struct {
		name, host, router, service string
		status                      int
	}{
		{"502 names router and service", "gone.test", "r-gone", "svc-gone", 502},
		{"503 names router and service", "empty.test", "r-empty", "svc-empty", 503},
	}
	for _, tc := range logTests {
		t.Run(tc.name, func(t *testing.T) {
			f := f.For(t)
			mark := f.LogMark()
			if res := f.Get(tc.host, "/logged"); res.Status != tc.status {
				t.Fatalf("status %d, want %d", res.Status, tc.status)
			}
			f.WaitLog(mark, "naming "+tc.router+" and "+tc.service, func(line string) bool {
				return containsAll(line, tc.router, tc.service)
			})
		})
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	heavy := StartBackend(t, "heavy", nil)
	light := StartBackend(t, "light", nil)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    weighted:
      rule: "Host('weights.test')"
      service: weighted
  services:
    weighted:
      loadBalancer:
        servers:
          - url: "%s"
            weight: 3
          - url: "%s"
            weight: 1
`, heavy.URL, light.URL)})
	f.WaitRoute("weights.test", "/", http.StatusOK, "")

	const total = 1000
	counts := map[string]int{}
	for i := 0; i < total; i++ {
		res := f.Get("weights.test", "/")
		if res.Status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, res.Status)
		}
		counts[res.Backend()]++
	}
	// 3:1 means 750 and 250; allow ±5% of all requests.
	const want, slack = total * 3 / 4, total * 5 / 100
	if got := counts["heavy"]; got < want-slack || got > want+slack || counts["heavy"]+counts["light"] != total {
		t.Fatalf("over %d requests got %v, want heavy %d±%d and the rest light", total, counts, want, slack)
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    pass:
      rule: "Host('fwd.test')"
      service: pass
    nopass:
      rule: "Host('nopass.test')"
      service: nopass
  services:
    pass:
      loadBalancer:
        servers:
          - url: "%[1]s"
    nopass:
      loadBalancer:
        passHostHeader: false
        servers:
          - url: "%[1]s"
`, a.URL)})
	f.WaitRoute("fwd.test", "/", http.StatusOK, "a")
	f.WaitRoute("nopass.test", "/", http.StatusOK, "a")
	port := portOf(t, f.Web)

	tests := []struct {
		name     string
		host     string
		wantHost string
	}{
		{"passHostHeader default true", "fwd.test:" + port, "fwd.test:" + port},
		{"passHostHeader false", "nopass.test:" + port, a.Addr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := f.For(t)
			res := f.Get(tc.host, "/headers")
			if res.Status != http.StatusOK {
				t.Fatalf("status %d", res.Status)
			}
			e := res.Echo
			if e.Host != tc.wantHost {
				t.Errorf("backend saw Host %q, want %q", e.Host, tc.wantHost)
			}
			want := map[string]string{
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Host":  tc.host,
				"X-Forwarded-Proto": "http",
				"X-Forwarded-Port":  port,
			}
			for k, v := range want {
				if got := strings.Join(e.Headers[http.CanonicalHeaderKey(k)], ","); got != v {
					t.Errorf("backend saw %s %q, want %q", k, got, v)
				}
			}
		})
	}
}
