package metrics

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestObserve(t *testing.T) {
	r := New(Options{EntryPoints: true, Routers: true, Services: true})
	ep, rt, svc := r.EntryPoint("web"), r.Router("app@file", "app@file"), r.Service("app@file")
	get := httptest.NewRequest(http.MethodGet, "/", nil)
	post := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("12345"))
	odd := httptest.NewRequest("BREW", "/", nil)
	ws := httptest.NewRequest(http.MethodGet, "/", nil)
	ws.Header.Set("Upgrade", "websocket")
	secure := httptest.NewRequest(http.MethodGet, "/", nil)
	secure.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	for range 3 {
		for _, o := range []*Observer{ep, rt, svc} {
			o.Observe(get, 200, 10*time.Millisecond, 100)
		}
	}
	rt.Observe(post, 502, time.Second, 0)
	rt.Observe(odd, 405, time.Millisecond, 0)
	rt.Observe(ws, 101, time.Millisecond, 0)
	rt.Observe(secure, 200, time.Millisecond, 0)
	checks := map[string]float64{
		`ferry_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`:                                   3,
		`ferry_router_requests_total{code="200",method="GET",protocol="http",router="app@file",service="app@file"}`:                   4,
		`ferry_router_requests_total{code="502",method="POST",protocol="http",router="app@file",service="app@file"}`:                  1,
		`ferry_router_requests_bytes_total{code="502",method="POST",protocol="http",router="app@file",service="app@file"}`:            5,
		`ferry_router_requests_total{code="405",method="OTHER",protocol="http",router="app@file",service="app@file"}`:                 1,
		`ferry_router_requests_total{code="101",method="GET",protocol="websocket",router="app@file",service="app@file"}`:              1,
		`ferry_router_requests_tls_total{router="app@file",service="app@file",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`: 1,
		`ferry_service_responses_bytes_total{code="200",method="GET",protocol="http",service="app@file"}`:                             300,
	}
	out := scrape(t, r)
	for series, want := range checks {
		if !strings.Contains(out, series+" "+strconv.FormatFloat(want, 'g', -1, 64)+"\n") {
			t.Errorf("missing %s %v", series, want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestRetainDeletesLeftObjects(t *testing.T) {
	r := New(Options{Routers: true, Services: true})
	get := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Router("a@file", "s@file").Observe(get, 200, 0, 0)
	r.Router("b@file", "s@file").Observe(get, 200, 0, 0)
	r.Service("s@file").Observe(get, 200, 0, 0)
	r.SetServerUp("s@file", "http://x", true)
	r.Retried("s@file").Inc()
	r.Retain(map[string]string{"b@file": "s@file"}, map[string][]string{"s@file": {"http://y"}})
	out := scrape(t, r)
	if strings.Contains(out, `router="a@file"`) || !strings.Contains(out, `router="b@file"`) {
		t.Fatalf("router series after Retain:\n%s", out)
	}
	if strings.Contains(out, `url="http://x"`) {
		t.Fatalf("a server no longer configured keeps its up gauge:\n%s", out)
	}
	r.Retain(nil, nil)
	out = scrape(t, r)
	if strings.Contains(out, `service="s@file"`) {
		t.Fatalf("service series after it left:\n%s", out)
	}
	if n := testutil.CollectAndCount(r.retries); n != 0 {
		t.Fatalf("%d retry series after the service left", n)
	}
}

func TestNilIsOff(t *testing.T) {
	var r *Registry
	r.ConfigReloaded(time.Now())
	r.EntryPoint("web").Observe(httptest.NewRequest(http.MethodGet, "/", nil), 200, 0, 0)
	r.Router("a", "b").Observe(httptest.NewRequest(http.MethodGet, "/", nil), 200, 0, 0)
	if r.OpenConnections("web", "HTTP") != nil || r.Retried("s") != nil {
		t.Fatal("a nil registry hands out metrics")
	}
	if off := New(Options{}); off.Router("a", "b") != nil || off.Service("b") != nil || off.EntryPoint("web") != nil {
		t.Fatal("observers of disabled scopes")
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New(Options{EntryPoints: true, Routers: true, Services: true})
	o := r.Router("app@file", "app@file")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		o.Observe(req, 200, time.Millisecond, 13)
	}
}
