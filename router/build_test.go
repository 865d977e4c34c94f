package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

func testOptions(prev *Table) BuildOptions {
	return BuildOptions{
		EntryPoints: []EntryPoint{{Name: "web"}, {Name: "websecure", TLS: true}},
		Transports:  NewTransports(),
		Log:         zap.NewNop(),
		Previous:    prev,
	}
}

func lbService(urls ...string) *config.Service {
	lb := &config.LoadBalancer{}
	for _, u := range urls {
		lb.Servers = append(lb.Servers, config.Server{URL: u})
	}
	return &config.Service{LoadBalancer: lb}
}

// serve sends a request for host+path through entry point 0 of t and
// returns the router that handled it ("" for none) and the status.
func serve(t *testing.T, tbl *Table, ep int, secure bool, host, path string) (int, string) {
	t.Helper()
	sw := &Switcher{log: zap.NewNop(), entryPoints: testOptions(nil).EntryPoints}
	sw.table.Store(tbl)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	sw.Handler(ep, secure).ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("X-Test-Backend")
}

func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test-Backend", name)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBuildRoutesByHostPathAndPriority(t *testing.T) {
	a, b, c := backend(t, "a"), backend(t, "b"), backend(t, "c")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"host":    {Rule: "Host(`example.com`)", Service: "a"},
			"api":     {Rule: "Host(`example.com`) && PathPrefix(`/api`)", Service: "b"},
			"catch":   {Rule: "PathPrefix(`/`)", Service: "c", Priority: 1},
			"urgent":  {Rule: "PathPrefix(`/urgent`)", Service: "c", Priority: 1000},
			"secured": {Rule: "Host(`example.com`)", Service: "b", TLS: &config.RouterTLS{}},
		},
		Services: map[string]*config.Service{"a": lbService(a), "b": lbService(b), "c": lbService(c)},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	if ps := tbl.Problems(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	tests := []struct {
		name   string
		ep     int
		secure bool
		host   string
		path   string
		want   string
	}{
		{"exact host", 0, false, "example.com", "/", "a"},
		{"host is case-insensitive and port ignored", 0, false, "EXAMPLE.com:8080", "/x", "a"},
		{"longer rule wins by default", 0, false, "example.com", "/api/v1", "b"},
		{"explicit priority beats longer rule", 0, false, "example.com", "/urgent", "c"},
		{"catch-all for unknown host", 0, false, "other.org", "/", "c"},
		{"tls router on tls connections", 0, true, "example.com", "/", "b"},
		{"tls entry point makes routers tls", 1, true, "example.com", "/api", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := serve(t, tbl, tt.ep, tt.secure, tt.host, tt.path)
			if code != http.StatusOK || got != tt.want {
				t.Fatalf("got %d from %q, want 200 from %q", code, got, tt.want)
			}
		})
	}
}

func TestBuildStatusCodes(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"dead":  {Rule: "Host(`dead.test`)", Service: "dead"},
			"empty": {Rule: "Host(`empty.test`)", Service: "empty"},
		},
		Services: map[string]*config.Service{"dead": lbService(closed.URL), "empty": lbService()},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	for host, want := range map[string]int{"dead.test": 502, "empty.test": 503, "nothing.test": 404} {
		if code, _ := serve(t, tbl, 0, false, host, "/"); code != want {
			t.Errorf("%s: got %d, want %d", host, code, want)
		}
	}
}

func TestBuildIsolatesInvalidObjects(t *testing.T) {
	good := backend(t, "good")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"good":        {Rule: "Host(`good.test`)", Service: "good"},
			"bad-rule":    {Rule: "Host(`x.test`", Service: "good"},
			"no-service":  {Rule: "Host(`y.test`)", Service: "missing"},
			"bad-svc":     {Rule: "Host(`z.test`)", Service: "broken"},
			"bad-ep":      {Rule: "Host(`w.test`)", Service: "good", EntryPoints: []string{"nope"}},
			"provider-ko": {Rule: "Host(`v.test`)", Service: "good"},
		},
		Services: map[string]*config.Service{
			"good":   lbService(good),
			"broken": lbService("ftp://nowhere"),
		},
	}}
	tbl := Build(Input{
		Config:   cfg,
		Problems: []config.Problem{{Kind: config.KindRouter, Name: "provider-ko", Field: "rulee", Message: "unknown key"}},
		Origins:  config.OriginMap{{Kind: config.KindRouter, Name: "bad-rule"}: "dyn.yaml:7"},
	}, testOptions(nil))

	want := map[string]string{
		"bad-rule":    "rule:",
		"no-service":  `service "missing" does not exist`,
		"bad-svc":     `service "broken" is disabled`,
		"bad-ep":      `entry point "nope" does not exist`,
		"provider-ko": "rulee: unknown key",
	}
	for _, r := range tbl.Routers() {
		reason, bad := want[r.Name]
		switch {
		case !bad && r.Status != StatusEnabled:
			t.Errorf("router %s disabled: %v", r.Name, r.Error)
		case bad && (r.Status != StatusDisabled || !strings.Contains(strings.Join(r.Error, "; "), reason)):
			t.Errorf("router %s: status %s errors %v, want disabled with %q", r.Name, r.Status, r.Error, reason)
		}
	}
	var origin string
	for _, p := range tbl.Problems() {
		if p.Name == "bad-rule" {
			origin = p.Origin
		}
	}
	if origin != "dyn.yaml:7" {
		t.Errorf("origin of bad-rule problem = %q", origin)
	}
	for _, r := range tbl.Routers() {
		if r.Name == "bad-rule" && !strings.HasSuffix(r.Error[0], " (from dyn.yaml:7)") {
			t.Errorf("API reason of bad-rule does not say where it is defined: %q", r.Error)
		}
	}
	if code, got := serve(t, tbl, 0, false, "good.test", "/"); code != 200 || got != "good" {
		t.Fatalf("good router: %d %q", code, got)
	}
	if code, _ := serve(t, tbl, 0, false, "v.test", "/"); code != 404 {
		t.Fatalf("router with a provider problem served: %d", code)
	}
}

func TestBuildKeepsUnchangedServices(t *testing.T) {
	a := backend(t, "a")
	mk := func(rule string, weight int) *config.Config {
		svc := lbService(a)
		svc.LoadBalancer.Servers[0].Weight = &weight
		return &config.Config{HTTP: config.HTTP{
			Routers:  map[string]*config.Router{"r": {Rule: rule, Service: "s"}, "other": {Rule: "Path(`/o`)", Service: "t"}},
			Services: map[string]*config.Service{"s": svc, "t": lbService(a)},
		}}
	}
	first := Build(Input{Config: mk("Host(`a.test`)", 1)}, testOptions(nil))
	second := Build(Input{Config: mk("Host(`b.test`)", 1)}, testOptions(first))
	if first.services["s"] != second.services["s"] || first.services["t"] != second.services["t"] {
		t.Fatal("unchanged services were rebuilt")
	}
	third := Build(Input{Config: mk("Host(`b.test`)", 2)}, testOptions(second))
	if third.services["s"] == second.services["s"] {
		t.Fatal("changed service was reused")
	}
	if third.services["t"] != second.services["t"] {
		t.Fatal("unchanged neighbour was rebuilt")
	}
}

func TestBuildWeights(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	three, one := 3, 1
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{"r": {Rule: "Host(`w.test`)", Service: "s"}},
		Services: map[string]*config.Service{"s": {LoadBalancer: &config.LoadBalancer{Servers: []config.Server{
			{URL: a, Weight: &three}, {URL: b, Weight: &one},
		}}}},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	counts := map[string]int{}
	for range 400 {
		_, got := serve(t, tbl, 0, false, "w.test", "/")
		counts[got]++
	}
	if counts["a"] != 300 || counts["b"] != 100 {
		t.Fatalf("distribution %v, want a=300 b=100", counts)
	}
}

func ExampleBuild() {
	cfg := &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"web@file": {Rule: "Host(`example.com`", Service: "app@file"}},
		Services: map[string]*config.Service{"app@file": lbService("http://127.0.0.1:9001")},
	}}
	tbl := Build(Input{Config: cfg}, BuildOptions{EntryPoints: []EntryPoint{{Name: "web"}}, Transports: NewTransports(), Log: zap.NewNop()})
	for _, r := range tbl.Routers() {
		fmt.Println(r.Name, r.Status)
	}
	// Output: web@file disabled
}
