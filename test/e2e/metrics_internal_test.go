package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInternalServicesBehindBasicAuth configures metrics the secure way:
// no listener of their own, reached only through a router with basicAuth.
func TestInternalServicesBehindBasicAuth(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	f := StartFerry(t, withPrometheusMetrics(Options{Dynamic: appDynamic(b.URL, `    metrics:
      rule: "Host('metrics.test')"
      service: prometheus@internal
      middlewares: [auth]
    api:
      rule: "Host('api.test')"
      service: api@internal
      middlewares: [auth]
    dashboard:
      rule: "Host('dashboard.test')"
      service: dashboard@internal
      middlewares: [auth]
    ping:
      rule: "Host('ping.test')"
      service: ping@internal
`, fmt.Sprintf(`  middlewares:
    auth:
      basicAuth:
        users: [%q]
`, mwBcrypt(t, "ops", "s3cret")))}, "    addRoutersLabels: true\n"))
	f.WaitRoute("app.test", "/", http.StatusOK, "b")
	f.WaitRoute("ping.test", "/ping", http.StatusOK, "")
	creds := mwBasic("ops", "s3cret")

	t.Run("prometheus@internal", func(t *testing.T) {
		f := f.For(t)
		for _, hdr := range []http.Header{nil, mwBasic("ops", "wrong")} {
			res := mwDo(f, "GET", "metrics.test", "/metrics", hdr)
			if res.Status != http.StatusUnauthorized || strings.Contains(string(res.Body), "ferry_") {
				t.Fatalf("metrics without valid credentials: %d %.200q, want 401 without metrics", res.Status, res.Body)
			}
		}
		res := mwDo(f, "GET", "metrics.test", "/metrics", creds)
		if res.Status != http.StatusOK || !containsAll(string(res.Body),
			"# TYPE ferry_config_reloads_total counter", `ferry_service_requests_total{`, `service="app@file"`) {
			t.Fatalf("metrics with credentials: %d %.2000q, want 200 with ferry_ series", res.Status, res.Body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type %q, want Prometheus's text format", ct)
		}
	})

	t.Run("api@internal", func(t *testing.T) {
		f := f.For(t)
		if res := mwDo(f, "GET", "api.test", "/api/http/routers", nil); res.Status != http.StatusUnauthorized ||
			strings.Contains(string(res.Body), "app@file") {
			t.Fatalf("API without credentials: %d %.200q, want 401 without the routers", res.Status, res.Body)
		}
		res := mwDo(f, "GET", "api.test", "/api/http/routers", creds)
		if res.Status != http.StatusOK || !containsAll(string(res.Body), `"app@file"`, `"metrics@file"`, `"api@file"`) {
			t.Fatalf("API with credentials: %d %.2000q, want 200 listing the routers", res.Status, res.Body)
		}
	})

	t.Run("dashboard@internal", func(t *testing.T) {
		f := f.For(t)
		if res := mwDo(f, "GET", "dashboard.test", "/dashboard/", nil); res.Status != http.StatusUnauthorized {
			status, errs := routerStatus(f, "dashboard@file")
			t.Fatalf("dashboard without credentials: %d, want 401 (router dashboard@file: %s %q)", res.Status, status, errs)
		}
		res := mwDo(f, "GET", "dashboard.test", "/dashboard/", creds)
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("dashboard with credentials: %d %q %.200q, want 200 HTML", res.Status, res.Header.Get("Content-Type"), res.Body)
		}
		// The dashboard's own API calls go through the same router.
		if res := mwDo(f, "GET", "dashboard.test", "/api/http/routers", creds); res.Status != http.StatusOK ||
			!strings.Contains(string(res.Body), `"dashboard@file"`) {
			t.Fatalf("API through the dashboard's router: %d %.200q, want 200 listing the routers", res.Status, res.Body)
		}
	})

	t.Run("ping@internal", func(t *testing.T) {
		res := mwDo(f.For(t), "GET", "ping.test", "/ping", nil)
		if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != "OK" {
			t.Fatalf("ping through a router: %d %q, want 200 OK", res.Status, res.Body)
		}
	})

	t.Run("no other way in", func(t *testing.T) {
		if res := mwDo(f.For(t), "GET", "other.test", "/metrics", nil); res.Status != http.StatusNotFound {
			t.Fatalf("/metrics on the entry point without a router to it: %d %.200q, want 404", res.Status, res.Body)
		}
	})
}

func TestMetricsOnEntryPoint(t *testing.T) {
	t.Parallel()
	prometheusBin(t)
	b := StartBackend(t, "b", nil)
	metricsAddr := freeAddr(t)
	start := time.Now()
	f := StartFerry(t, withPrometheusMetrics(Options{
		EntryPoints: fmt.Sprintf("  metrics:\n    address: %q\n", metricsAddr),
		Dynamic:     appDynamic(b.URL, "", ""),
	}, "    entryPoint: metrics\n"))
	f.WaitRoute("app.test", "/", http.StatusOK, "b")
	p := startPrometheus(t, metricsAddr, time.Second)
	p.waitUp()
	p.waitAtLeast(`ferry_config_last_reload_success`, float64(start.Unix()), promWait)
	p.waitAtLeast(`sum(ferry_service_requests_total{service="app@file"})`, 1, promWait)

	if _, routers := f.Routers(); routers["prometheus@internal"].Status != "enabled" {
		t.Errorf("implicit router prometheus@internal: %+v, want enabled", routers["prometheus@internal"])
	}
	if res := f.Get("app.test", "/metrics"); res.Status != http.StatusOK || res.Backend() != "b" {
		t.Errorf("/metrics on the entry point web: %d from %q, want the app's answer (metrics only on the entry point metrics)",
			res.Status, res.Backend())
	}
}
