package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// mwConfig declares every request and response middleware, each in front of
// the app backend on a host of its own, plus a chain and two routers that
// must not serve: one names a middleware that does not exist (a typo), one
// uses a middleware with an invalid option.
func mwConfig(t *testing.T, app, auth, pages *Backend) string {
	return dyn(`
http:
  routers:
    basic:
      rule: "Host('basic.test')"
      service: app
      middlewares: [basic-auth]
    fwd:
      rule: "Host('fwd.test')"
      service: app
      middlewares: [fwd-auth]
    hdr:
      rule: "Host('hdr.test')"
      service: app
      middlewares: [hdr]
    strip:
      rule: "Host('strip.test')"
      service: app
      middlewares: [strip]
    stripre:
      rule: "Host('stripre.test')"
      service: app
      middlewares: [stripre]
    add:
      rule: "Host('add.test')"
      service: app
      middlewares: [add]
    replace:
      rule: "Host('replace.test')"
      service: app
      middlewares: [replace]
    replacere:
      rule: "Host('replacere.test')"
      service: app
      middlewares: [replacere]
    redir:
      rule: "Host('redir.test')"
      service: app
      middlewares: [to-https]
    redirre:
      rule: "Host('old.test')"
      service: app
      middlewares: [old-to-new]
    gzip:
      rule: "Host('gzip.test')"
      service: app
      middlewares: [compress]
    errors:
      rule: "Host('errors.test')"
      service: app
      middlewares: [error-pages]
    chained:
      rule: "Host('chain.test')"
      service: app
      middlewares: [secured, strip]
    ws:
      rule: "Host('ws.test')"
      service: app
      middlewares: [hdr, compress, error-pages]
    typo:
      rule: "Host('typo.test')"
      service: app
      middlewares: [basic-auht]
    invalid:
      rule: "Host('invalid.test')"
      service: app
      middlewares: [bad-regex]
    badusers:
      rule: "Host('badusers.test')"
      service: app
      middlewares: [bad-users]
    badscheme:
      rule: "Host('badscheme.test')"
      service: app
      middlewares: [bad-scheme]
    fwddown:
      rule: "Host('fwddown.test')"
      service: app
      middlewares: [fwd-down]
  services:
    app:
      loadBalancer:
        servers:
          - url: "%[1]s"
    pages:
      loadBalancer:
        servers:
          - url: "%[3]s"
  middlewares:
    basic-auth:
      basicAuth:
        users:
          - "%[4]s"
          - "apr:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"
        realm: staff
        headerField: X-User
        removeHeader: true
    fwd-auth:
      forwardAuth:
        address: "%[2]s/verify"
        authResponseHeaders: [X-Auth-User]
    hdr:
      headers:
        customRequestHeaders:
          X-Env: prod
          X-Debug: ""
        customResponseHeaders:
          X-Served-By: ferry
          X-Backend-Internal: ""
        frameDeny: true
        contentTypeNosniff: true
        accessControlAllowOriginList: ["https://app.example"]
        accessControlAllowMethods: [GET, PUT]
        accessControlMaxAge: 300
    strip:
      stripPrefix:
        prefixes: [/api]
    stripre:
      stripPrefixRegex:
        regex: ["/users/[0-9]+"]
    add:
      addPrefix:
        prefix: /v2
    replace:
      replacePath:
        path: /fixed
    replacere:
      replacePathRegex:
        regex: "^/old/(.*)"
        replacement: "/new/$1"
    to-https:
      redirectScheme:
        scheme: https
        port: "8443"
        permanent: true
    old-to-new:
      redirectRegex:
        regex: "^http://old\\.test/(.*)"
        replacement: "http://new.test/${1}"
    compress:
      compress:
        minResponseBodyBytes: 512
    error-pages:
      errors:
        status: ["500-599"]
        service: pages
        query: "/errors/{status}.html"
    secured:
      chain:
        middlewares: [basic-auth, hdr]
    bad-regex:
      stripPrefixRegex:
        regex: ["/(unclosed"]
    bad-users:
      basicAuth:
        users: ["bob:plaintext"]
    bad-scheme:
      redirectScheme:
        scheme: htps
    fwd-down:
      forwardAuth:
        address: "http://%[5]s/verify"
`, app.URL, auth.URL, pages.URL, mwBcrypt(t, "alice", "wonderland"), freeAddr(t))
}

// mwBackends starts the app, a forward auth server that admits "X-Token:
// ok", and an error page server.
func mwBackends(t *testing.T) (app, auth, pages *Backend) {
	app = StartBackend(t, "app", map[string]http.HandlerFunc{
		"/internal": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend-Internal", "secret")
			w.Header().Set("X-Backend", "app")
			_, _ = w.Write([]byte("internal\n"))
		},
	})
	auth = StartBackend(t, "auth", map[string]http.HandlerFunc{
		"/verify": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Token") != "ok" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sso"`)
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, "denied %s %s%s\n", r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Uri"))
				return
			}
			w.Header().Set("X-Auth-User", "alice")
			w.WriteHeader(http.StatusOK)
		},
	})
	pages = StartBackend(t, "pages", map[string]http.HandlerFunc{
		"/errors/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<h1>custom page %s</h1>", r.URL.Path)
		},
	})
	return app, auth, pages
}

func TestMiddlewares(t *testing.T) {
	t.Parallel()
	app, auth, pages := mwBackends(t)
	f := StartFerry(t, Options{Dynamic: mwConfig(t, app, auth, pages)})
	f.WaitRoute("strip.test", "/api/x", http.StatusOK, "app")

	t.Run("basicAuth", func(t *testing.T) {
		f := f.For(t)
		res := mwDo(f, "GET", "basic.test", "/", nil)
		if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Basic realm="staff"` {
			t.Fatalf("no credentials: %d %q, want 401 with the realm", res.Status, res.Header.Get("WWW-Authenticate"))
		}
		if res := mwDo(f, "GET", "basic.test", "/", mwBasic("alice", "wrong")); res.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d, want 401", res.Status)
		}
		for _, u := range []struct{ user, password string }{{"alice", "wonderland"}, {"apr", "secret"}} {
			res := mwDo(f, "GET", "basic.test", "/", mwBasic(u.user, u.password))
			if res.Status != http.StatusOK || res.Backend() != "app" {
				t.Fatalf("%s: %d from %q, want 200 from app", u.user, res.Status, res.Backend())
			}
			if res.Echo.Header("X-User") != u.user || res.Echo.Header("Authorization") != "" {
				t.Errorf("%s: app saw X-User %q and Authorization %q; want the user and no Authorization",
					u.user, res.Echo.Header("X-User"), res.Echo.Header("Authorization"))
			}
		}
	})

	t.Run("forwardAuth", func(t *testing.T) {
		f := f.For(t)
		res := mwDo(f, "POST", "fwd.test", "/orders?id=7", nil)
		if res.Status != http.StatusUnauthorized || string(res.Body) != "denied POST fwd.test/orders?id=7\n" ||
			res.Header.Get("WWW-Authenticate") != `Bearer realm="sso"` {
			t.Fatalf("denied: %d %q %v; want the auth server's 401 as is", res.Status, res.Body, res.Header)
		}
		res = mwDo(f, "GET", "fwd.test", "/", http.Header{"X-Token": {"ok"}, "X-Auth-User": {"forged"}})
		if res.Status != http.StatusOK || res.Echo.Header("X-Auth-User") != "alice" {
			t.Fatalf("allowed: %d, app saw X-Auth-User %q; want 200 and alice", res.Status, res.Echo.Header("X-Auth-User"))
		}
	})

	t.Run("headers", func(t *testing.T) {
		f := f.For(t)
		res := mwDo(f, "GET", "hdr.test", "/internal", http.Header{"X-Debug": {"1"}})
		if res.Header.Get("X-Served-By") != "ferry" || res.Header.Get("X-Backend-Internal") != "" ||
			res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("response headers %v", res.Header)
		}
		res = mwDo(f, "GET", "hdr.test", "/", http.Header{"X-Debug": {"1"}, "Origin": {"https://app.example"}})
		if res.Echo.Header("X-Env") != "prod" || res.Echo.Header("X-Debug") != "" {
			t.Errorf("app saw X-Env %q X-Debug %q, want prod and none", res.Echo.Header("X-Env"), res.Echo.Header("X-Debug"))
		}
		if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("CORS answer: %v", res.Header)
		}
		res = mwDo(f, "OPTIONS", "hdr.test", "/", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}})
		if res.Status != http.StatusOK || res.Backend() != "" || res.Header.Get("Access-Control-Allow-Methods") != "GET, PUT" ||
			res.Header.Get("Access-Control-Max-Age") != "300" {
			t.Errorf("preflight: %d from %q, headers %v; want 200 from Ferry itself", res.Status, res.Backend(), res.Header)
		}
	})

	t.Run("paths", func(t *testing.T) {
		f := f.For(t)
		for _, tc := range []struct{ host, path, wantPath, header, value string }{
			{"strip.test", "/api/users", "/users", "X-Forwarded-Prefix", "/api"},
			{"stripre.test", "/users/42/profile", "/profile", "X-Forwarded-Prefix", "/users/42"},
			{"add.test", "/items", "/v2/items", "", ""},
			{"replace.test", "/anything", "/fixed", "X-Replaced-Path", "/anything"},
			{"replacere.test", "/old/a/b", "/new/a/b", "X-Replaced-Path", "/old/a/b"},
		} {
			res := mwDo(f, "GET", tc.host, tc.path, nil)
			if res.Status != http.StatusOK || res.Echo.Path != tc.wantPath {
				t.Errorf("%s%s: %d, app saw %q, want %q", tc.host, tc.path, res.Status, res.Echo.Path, tc.wantPath)
			}
			if tc.header != "" && res.Echo.Header(tc.header) != tc.value {
				t.Errorf("%s%s: %s %q, want %q", tc.host, tc.path, tc.header, res.Echo.Header(tc.header), tc.value)
			}
		}
	})

	t.Run("redirects", func(t *testing.T) {
		f := f.For(t)
		res := mwDo(f, "GET", "redir.test", "/login?next=/", nil)
		if res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != "https://redir.test:8443/login?next=/" {
			t.Errorf("redirectScheme: %d %q", res.Status, res.Header.Get("Location"))
		}
		res = mwDo(f, "POST", "old.test", "/docs/a", nil)
		if res.Status != http.StatusTemporaryRedirect || res.Header.Get("Location") != "http://new.test/docs/a" {
			t.Errorf("redirectRegex: %d %q", res.Status, res.Header.Get("Location"))
		}
	})

	t.Run("compress", func(t *testing.T) {
		f := f.For(t)
		pad := strings.Repeat("compressible-", 100) // echoed back: a body well over 512 bytes
		for _, coding := range []string{"gzip", "br", "zstd"} {
			res := mwDo(f, "GET", "gzip.test", "/", http.Header{"Accept-Encoding": {coding}, "X-Pad": {pad}})
			if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != coding || res.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("%s: %d Content-Encoding %q Vary %q", coding, res.Status, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
			}
			if body := mwDecode(t, coding, res.Body); !strings.Contains(string(body), pad) || len(res.Body) >= len(body)/2 {
				t.Errorf("%s: %d bytes on the wire for %d decoded", coding, len(res.Body), len(body))
			}
		}
		if res := mwDo(f, "GET", "gzip.test", "/", http.Header{"Accept-Encoding": {"gzip"}}); res.Header.Get("Content-Encoding") != "" {
			t.Errorf("small answer compressed: %q", res.Header.Get("Content-Encoding"))
		}
		// An event stream passes uncompressed and unbuffered: the first event
		// arrives long before the 30 events (3 s) are over.
		ev, hdr, took := mwFirstEvent(t, f, "gzip.test", "/sse?n=30", http.Header{"Accept-Encoding": {"gzip, br, zstd"}})
		if !strings.Contains(ev, "data: app 0") || hdr.Get("Content-Encoding") != "" || took > 2*time.Second {
			t.Errorf("event stream: first event %q after %s, Content-Encoding %q", ev, took, hdr.Get("Content-Encoding"))
		}
	})

	t.Run("errors", func(t *testing.T) {
		f := f.For(t)
		res := mwDo(f, "GET", "errors.test", "/status/503", nil)
		if res.Status != http.StatusServiceUnavailable || string(res.Body) != "<h1>custom page /errors/503.html</h1>" {
			t.Errorf("503: %d %q, want 503 with the custom page", res.Status, res.Body)
		}
		if res := mwDo(f, "GET", "errors.test", "/status/404", nil); res.Status != http.StatusNotFound || len(res.Body) != 0 {
			t.Errorf("404 is not in the ranges: %d %q", res.Status, res.Body)
		}
	})

	t.Run("chain in order", func(t *testing.T) {
		f := f.For(t)
		if res := mwDo(f, "GET", "chain.test", "/api/x", nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("without credentials: %d, want 401 (auth first)", res.Status)
		}
		res := mwDo(f, "GET", "chain.test", "/api/x", mwBasic("alice", "wonderland"))
		if res.Status != http.StatusOK || res.Echo.Path != "/x" || res.Echo.Header("X-Env") != "prod" ||
			res.Echo.Header("X-User") != "alice" || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("chain: %d path %q X-Env %q X-User %q X-Frame-Options %q", res.Status, res.Echo.Path,
				res.Echo.Header("X-Env"), res.Echo.Header("X-User"), res.Header.Get("X-Frame-Options"))
		}
	})

	t.Run("websocket through response middlewares", func(t *testing.T) {
		conn := dialWS(t, f.For(t), "ws.test", "/ws")
		defer conn.Close()
		wsEcho(t, conn, websocket.TextMessage, []byte("hello through headers, compress and errors"))
		wsEcho(t, conn, websocket.BinaryMessage, bytes.Repeat([]byte("z"), 8<<10))
	})

	t.Run("a typo in an auth middleware serves nothing", func(t *testing.T) {
		f := f.For(t)
		for _, h := range []http.Header{nil, mwBasic("alice", "wonderland")} {
			if res := mwDo(f, "GET", "typo.test", "/", h); res.Status != http.StatusNotFound || res.Backend() != "" {
				t.Fatalf("typo.test: %d from %q, want 404 from Ferry", res.Status, res.Backend())
			}
		}
		_, routers := f.Routers()
		r := routers["typo@file"]
		if r.Status != "disabled" || !strings.Contains(strings.Join(r.Error, " "), `middleware "basic-auht@file" does not exist`) {
			t.Errorf("typo@file: status %q errors %q", r.Status, r.Error)
		}
	})

	t.Run("an invalid option disables the middleware and its routers", func(t *testing.T) {
		f := f.For(t)
		invalid := map[string]struct{ host, mention string }{
			"bad-regex@file":  {"invalid.test", "stripPrefixRegex.regex[0]: invalid regular expression"},
			"bad-users@file":  {"badusers.test", `basicAuth.users[0]: user "bob": unsupported hash`},
			"bad-scheme@file": {"badscheme.test", `redirectScheme.scheme: want http or https, got "htps"`},
		}
		for _, bad := range invalid {
			if res := mwDo(f, "GET", bad.host, "/x", mwBasic("bob", "plaintext")); res.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", bad.host, res.Status)
			}
		}
		var mws []struct {
			Name   string   `json:"name"`
			Status string   `json:"status"`
			Error  []string `json:"error"`
		}
		f.APIGet("/api/http/middlewares", &mws)
		seen := 0
		for _, m := range mws {
			bad, isBad := invalid[m.Name]
			switch {
			case isBad:
				seen++
				if m.Status != "disabled" || !strings.Contains(strings.Join(m.Error, " "), bad.mention) {
					t.Errorf("%s: %q %q, want disabled with %q", m.Name, m.Status, m.Error, bad.mention)
				}
			case m.Status != "enabled":
				t.Errorf("%s: %q %q, want enabled", m.Name, m.Status, m.Error)
			}
		}
		if seen != len(invalid) {
			t.Errorf("/api/http/middlewares lists %d of the %d invalid middlewares", seen, len(invalid))
		}
		_, routers := f.Routers()
		if r := routers["invalid@file"]; r.Status != "disabled" || !strings.Contains(strings.Join(r.Error, " "), "bad-regex@file") {
			t.Errorf("invalid@file: %q %q", r.Status, r.Error)
		}
	})

	t.Run("forwardAuth with its server down answers 502", func(t *testing.T) {
		f := f.For(t)
		if res := mwDo(f, "GET", "fwddown.test", "/", http.Header{"X-Token": {"ok"}}); res.Status != http.StatusBadGateway || res.Backend() != "" {
			t.Errorf("fwddown.test: %d from %q, want 502 from Ferry", res.Status, res.Backend())
		}
	})
}
