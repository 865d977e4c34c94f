package e2e

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"testing"
)

// TestTrafficChainOrder runs auth -> rate limit -> headers -> strip prefix
// as one chain and shows each step sees the request the previous one left:
// refused logins spend no tokens, the limit keys on the client's own
// X-Tenant before headers overwrites it, and headers runs before
// stripPrefix adds X-Forwarded-Prefix (which headers would remove).
func TestTrafficChainOrder(t *testing.T) {
	b := StartBackend(t, "b", nil)
	sum := sha1.Sum([]byte("wonderland"))
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    api:
      rule: "Host('gw.test') && PathPrefix('/api')"
      service: svc
      middlewares: [gateway]
  middlewares:
    gateway:
      chain:
        middlewares: [auth, limit, hdrs, strip]
    auth:
      basicAuth:
        users: ["alice:{SHA}%s"]
    limit:
      rateLimit:
        average: 1
        period: 1m
        burst: 2
        sourceCriterion:
          requestHeaderName: X-Tenant
    hdrs:
      headers:
        customRequestHeaders:
          X-Tenant: gateway
          X-Forwarded-Prefix: ""
    strip:
      stripPrefix:
        prefixes: [/api]
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, base64.StdEncoding.EncodeToString(sum[:]), b.URL)})
	c := clientFrom(t, f, "127.0.0.1")
	tenant := func(name string, auth bool) http.Header {
		h := http.Header{"X-Tenant": {name}}
		if auth {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:wonderland")))
		}
		return h
	}
	waitFor(t, waitTimeout, "gw.test routed", func() (bool, string) {
		res := c.do("GET", "gw.test", "/api/ping", tenant("probe", false), nil)
		return res.Status == http.StatusUnauthorized, http.StatusText(res.Status)
	})
	for range 3 {
		if res := c.do("GET", "gw.test", "/api/users", tenant("a", false), nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("without credentials: %d, want 401", res.Status)
		}
	}
	for i := range 2 {
		res := c.do("GET", "gw.test", "/api/users", tenant("a", true), nil)
		if res.Status != 200 {
			t.Fatalf("tenant a request %d: %d, want 200 (refused logins spend no tokens)", i+1, res.Status)
		}
		e := res.Echo
		if e.Path != "/users" || e.Header("X-Tenant") != "gateway" || e.Header("X-Forwarded-Prefix") != "/api" {
			t.Errorf("backend saw path %q X-Tenant %q X-Forwarded-Prefix %q; want /users, gateway, /api",
				e.Path, e.Header("X-Tenant"), e.Header("X-Forwarded-Prefix"))
		}
	}
	res := c.do("GET", "gw.test", "/api/users", tenant("a", true), nil)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("tenant a over its limit: %d Retry-After %q, want 429 with Retry-After", res.Status, res.Header.Get("Retry-After"))
	}
	if res := c.do("GET", "gw.test", "/api/users", tenant("b", true), nil); res.Status != 200 {
		t.Errorf("tenant b: %d, want 200 (the limit keys on the client's X-Tenant, before headers rewrites it)", res.Status)
	}
}
