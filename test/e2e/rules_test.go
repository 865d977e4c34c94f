package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// rawPathBackend answers with its name in X-Backend and the request path
// exactly as it arrived (the request target, before any decoding) in
// X-Raw-Path, so that a test sees what Ferry forwarded.
func rawPathBackend(t *testing.T, name string) *Backend {
	t.Helper()
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Raw-Path", r.URL.EscapedPath())
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return &Backend{Name: name, URL: srv.URL, Addr: srv.Listener.Addr().String()}
}

// routerOf returns router name (qualified) from /api/http/routers with
// its ruleSyntax, failing the test when it is missing.
func routerOf(f *Ferry, name string) (status string, errs string, syntax string) {
	f.t.Helper()
	var list []struct {
		Name       string   `json:"name"`
		Status     string   `json:"status"`
		Error      []string `json:"error"`
		RuleSyntax string   `json:"ruleSyntax"`
	}
	f.APIGet("/api/http/routers", &list)
	for _, r := range list {
		if r.Name == name {
			return r.Status, strings.Join(r.Error, "; "), r.RuleSyntax
		}
	}
	f.t.Fatalf("router %s not in /api/http/routers", name)
	return "", "", ""
}

// TestRuleSyntaxV2AndV3SideBySide serves a v2-syntax router next to v3
// ones from one file: a Traefik v2 deployment moves router by router.
func TestRuleSyntaxV2AndV3SideBySide(t *testing.T) {
	t.Parallel()
	v2 := StartBackend(t, "v2", nil)
	v3 := StartBackend(t, "v3", nil)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    legacy:
      rule: "Host('v2.test', 'old.test') && PathPrefix('/a', '/b') && Headers('X-Env', 'prod')"
      ruleSyntax: v2
      service: v2
    legacy-template:
      rule: "HostRegexp('{tenant:[a-z]+}.v2.test') && Path('/users/{id:[0-9]+}')"
      ruleSyntax: v2
      service: v2
    modern:
      rule: "Host('*.v3.test') && (PathPrefix('/a') || PathPrefix('/b'))"
      service: v3
    modern-case:
      rule: "hostregexp('^api\\.v3re\\.test$') && METHOD('GET') && query('debug')"
      ruleSyntax: v3
      service: v3
    unmarked-v2:
      rule: "Host('x.test', 'y.test')"
      service: v3
  services:
    v2:
      loadBalancer:
        servers:
          - url: "%[1]s"
    v3:
      loadBalancer:
        servers:
          - url: "%[2]s"
`, v2.URL, v3.URL)})

	f.WaitRoute("acme.v2.test", "/users/42", 200, "v2")
	prod := http.Header{"X-Env": {"prod"}}
	for _, tt := range []struct {
		name, host, path string
		hdr              http.Header
		status           int
		backend          string
	}{
		{"v2: second host, second prefix", "old.test", "/b/x", prod, 200, "v2"},
		{"v2: Headers required", "old.test", "/b/x", nil, 404, ""},
		{"v2: template host and path", "acme.v2.test", "/users/42", nil, 200, "v2"},
		{"v2: template path is anchored", "acme.v2.test", "/users/42/x", nil, 404, ""},
		{"v2: {tenant} is one label", "a.b.v2.test", "/users/42", nil, 404, ""},
		{"v3: wildcard host", "shop.v3.test", "/a/1", nil, 200, "v3"},
		{"v3: wildcard is one label", "a.shop.v3.test", "/a/1", nil, 404, ""},
		{"v3: names in any case, Query without value", "api.v3re.test", "/?debug", nil, 200, "v3"},
		{"v3: Query without value, given one", "api.v3re.test", "/?debug=1", nil, 404, ""},
		{"v2 rule without ruleSyntax is not served", "x.test", "/", nil, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := f.For(t)
			res, err := f.Do(http.MethodGet, tt.host, tt.path, tt.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || res.Backend() != tt.backend {
				t.Errorf("GET http://%s%s: status %d from %q, want %d from %q", tt.host, tt.path, res.Status, res.Backend(), tt.status, tt.backend)
			}
		})
	}

	status, _, syntax := routerOf(f, "legacy@file")
	if status != "enabled" || syntax != "v2" {
		t.Errorf("legacy@file: status %s, ruleSyntax %q; want enabled, v2", status, syntax)
	}
	status, errs, _ := routerOf(f, "unmarked-v2@file")
	want := "Host: expected 1 argument, got 2 (rule syntax v3: combine several with ||, as in Host(`a`) || Host(`b`)); " +
		"the rule is valid in rule syntax v2: set the router's ruleSyntax to v2"
	if status != "disabled" || !strings.Contains(errs, want) {
		t.Errorf("unmarked-v2@file: status %s, errors %q; want disabled with %q", status, errs, want)
	}
}

// TestDefaultRuleSyntaxV2 reads routers without ruleSyntax as v2 when the
// static configuration says core.defaultRuleSyntax: v2; a router can still
// opt into v3. ferry check and explain read the rules the same way.
func TestDefaultRuleSyntaxV2(t *testing.T) {
	t.Parallel()
	app := StartBackend(t, "app", nil)
	f := StartFerry(t, Options{
		Static: func(f *Ferry) string {
			return f.staticConfig(Options{}) + "core:\n  defaultRuleSyntax: v2\n"
		},
		Dynamic: dyn(`
http:
  routers:
    unmarked:
      rule: "Host('a.test', 'b.test') && Query('lang=en')"
      service: app
    opted-in:
      rule: "Host('*.c.test') && Header('X-Env', 'prod')"
      ruleSyntax: v3
      service: app
    unmarked-v3:
      rule: "Host('*.d.test')"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "%[1]s"
`, app.URL)})

	f.WaitRoute("b.test", "/?lang=en", 200, "app")
	if res := f.Get("b.test", "/?lang=fr"); res.Status != 404 {
		t.Errorf("b.test/?lang=fr: status %d, want 404", res.Status)
	}
	res, err := f.Do(http.MethodGet, "www.c.test", "/", http.Header{"X-Env": {"prod"}})
	if err != nil || res.Status != 200 || res.Backend() != "app" {
		t.Errorf("www.c.test (v3 router): %v %v, want 200 from app", res, err)
	}
	status, errs, _ := routerOf(f, "unmarked-v3@file")
	if status != "disabled" || !strings.Contains(errs, "wildcard hosts need rule syntax v3") ||
		!strings.Contains(errs, "the rule is valid in rule syntax v3: set the router's ruleSyntax to v3") {
		t.Errorf("unmarked-v3@file: status %s, errors %q; want disabled, naming v3", status, errs)
	}

	out, code := runFerry(t, "check", "--config", f.StaticPath)
	if code != 1 || !strings.Contains(out, "http.routers.unmarked-v3.rule: rule: at position 5") ||
		!strings.Contains(out, "1 problem(s)") {
		t.Errorf("ferry check: exit %d, output:\n%s\nwant exit 1 naming http.routers.unmarked-v3.rule only", code, out)
	}
	out, code = runFerry(t, "explain", "--config", f.StaticPath, "GET http://a.test/?lang=en")
	if code != 0 || !strings.Contains(out, "unmarked@file") {
		t.Errorf("ferry explain: exit %d, output:\n%s\nwant unmarked@file to serve it", code, out)
	}
}

// TestPathPrefixEncodedBypass tries to reach what a PathPrefix guards
// with basicAuth through encoded slashes and dots. Routers compare the
// path as sent, so an encoded slash is never a separator, and the server
// behind receives exactly the path the router saw.
func TestPathPrefixEncodedBypass(t *testing.T) {
	t.Parallel()
	app := rawPathBackend(t, "app")
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    admin:
      rule: "Host('app.test') && PathPrefix('/admin')"
      middlewares: [auth]
      service: app
    public:
      rule: "Host('app.test') && PathPrefix('/public/')"
      service: app
    everything-else:
      rule: "Host('app.test')"
      priority: 1
      middlewares: [auth]
      service: app
  middlewares:
    auth:
      basicAuth:
        users:
          - "%[2]s"
  services:
    app:
      loadBalancer:
        servers:
          - url: "%[1]s"
`, app.URL, mwBcrypt(t, "alice", "wonderland"))})

	f.WaitRoute("app.test", "/public/x", 200, "app")
	for _, tt := range []struct {
		path    string
		status  int
		rawPath string // what the server received, when it answered
	}{
		{"/admin/secret", 401, ""},
		{"/admin%2F..%2Fsecret", 401, ""},
		{"/admin%2f..%2fsecret", 401, ""},
		{"/%61dmin/secret", 401, ""},
		{"/public/..%2Fadmin", 200, "/public/..%2Fadmin"}, // one segment under /public/, forwarded as sent
		{"/public%2F..%2Fadmin", 401, ""},                 // not under /public/: the guarded catch-all takes it
		{"/public%2F..%2F%61dmin", 401, ""},
		{"/public%23/../admin", 401, ""},
		{"/public/x%2Fy", 200, "/public/x%2Fy"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			f := f.For(t)
			res := f.Get("app.test", tt.path)
			if res.Status != tt.status {
				t.Fatalf("GET %s: status %d, want %d (server saw %q)", tt.path, res.Status, tt.status, res.Header.Get("X-Raw-Path"))
			}
			if got := res.Header.Get("X-Raw-Path"); tt.rawPath != "" && got != tt.rawPath {
				t.Errorf("GET %s: server received %q, want %q", tt.path, got, tt.rawPath)
			}
		})
	}
	req := http.Header{"Authorization": {"Basic YWxpY2U6d29uZGVybGFuZA=="}} // alice:wonderland
	if res, err := f.Do(http.MethodGet, "app.test", "/admin/secret", req); err != nil || res.Status != 200 {
		t.Errorf("GET /admin/secret with credentials: %v %v, want 200", res, err)
	}
}
