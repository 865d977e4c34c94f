package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestACMEEntryPointDefaults is the most common Traefik setup: the
// websecure entry point names the certificate resolver and a middleware
// (entryPoints.websecure.http.tls.certResolver, http.middlewares), and the
// router has no tls section of its own. Its host gets a certificate from
// the resolver and its answers pass the middleware; the API shows the
// router with the entry point's tls section, as Traefik's does.
func TestACMEEntryPointDefaults(t *testing.T) {
	t.Parallel()
	backend := acmeBackend(t, "ep-app")
	const host = "ep.ferry.test"
	f, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA {
		return startPebble(t, web, secure)
	}, "", dyn(`http:
  routers:
    app:
      rule: "Host('%s')"
      entryPoints: [websecure]
      service: app
  middlewares:
    tag:
      headers:
        customResponseHeaders:
          X-Entry-Point: websecure
  services:
    app:
      loadBalancer:
        servers:
          - url: %s
`, host, backend))
	static, err := os.ReadFile(f.StaticPath)
	if err != nil {
		t.Fatal(err)
	}
	withDefaults := strings.Replace(string(static), "    http:\n      tls: {}\n",
		"    http:\n      tls:\n        certResolver: pebble-http\n      middlewares: [tag@file]\n", 1)
	if withDefaults == string(static) {
		t.Fatal("the websecure entry point's tls section was not found in the static file")
	}
	if err := os.WriteFile(f.StaticPath, []byte(withDefaults), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start()
	took := f.waitValid(host, ca.Roots, issueTimeout)
	t.Logf("valid certificate from the entry point's resolver after %s", took)
	resp, body, err := f.httpsGet(host, "/", ca.Roots)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "ep-app") {
		t.Fatalf("GET https://%s/: %v %v %s", host, err, resp, body)
	}
	if got := resp.Header.Get("X-Entry-Point"); got != "websecure" {
		t.Errorf("X-Entry-Point = %q, want the entry point's middleware applied", got)
	}
	var router struct {
		Middlewares []string `json:"middlewares"`
		TLS         *struct {
			CertResolver string `json:"certResolver"`
		} `json:"tls"`
		Status string `json:"status"`
	}
	f.apiGet("/api/http/routers/app@file", &router)
	if router.Status != "enabled" || router.TLS == nil || router.TLS.CertResolver != "pebble-http" ||
		strings.Join(router.Middlewares, ",") != "tag@file" {
		t.Errorf("API router: %+v (tls %+v), want enabled with certResolver pebble-http and middlewares [tag@file]", router, router.TLS)
	}
}
