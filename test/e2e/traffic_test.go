package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rateLimitConfig limits limited.test and shared.test with one rateLimit
// middleware (3 requests, then one a minute per client IP); other names a
// router that does not use it.
func rateLimitConfig(b *Backend, otherHost string) string {
	return dyn(`
http:
  routers:
    limited:
      rule: "Host('limited.test')"
      service: svc
      middlewares: [limit]
    shared:
      rule: "Host('shared.test')"
      service: svc
      middlewares: [limit@file]
    other:
      rule: "Host('%s')"
      service: svc
  middlewares:
    limit:
      rateLimit:
        average: 1
        period: 1m
        burst: 3
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, otherHost, b.URL)
}

func TestRateLimit(t *testing.T) {
	b := StartBackend(t, "b", nil)
	f := StartFerry(t, Options{Dynamic: rateLimitConfig(b, "other.test")})
	f.WaitRoute("other.test", "/", 200, "b")
	a, other := clientFrom(t, f, "127.0.0.1"), clientFrom(t, f, "127.0.0.2")

	for i := range 3 {
		if res := a.get("limited.test", "/"); res.Status != 200 {
			t.Fatalf("client A request %d within the burst: status %d", i+1, res.Status)
		}
	}
	res := a.get("limited.test", "/")
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("client A over the limit: status %d, want 429", res.Status)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", res.Header.Get("Retry-After"))
	}
	if res := a.get("shared.test", "/"); res.Status != http.StatusTooManyRequests {
		t.Errorf("client A on another router using the same middleware: %d, want 429 (one bucket set)", res.Status)
	}
	if res := other.get("limited.test", "/"); res.Status != 200 || res.Backend() != "b" {
		t.Errorf("client B: status %d from %q, want 200 from b", res.Status, res.Backend())
	}
	if res := a.get("other.test", "/"); res.Status != 200 {
		t.Errorf("client A on a router without the limit: %d, want 200", res.Status)
	}

	// Editing an unrelated router keeps the buckets.
	f.WriteDynamic(rateLimitConfig(b, "renamed.test"))
	f.WaitRoute("renamed.test", "/", 200, "b")
	if res := a.get("limited.test", "/"); res.Status != http.StatusTooManyRequests {
		t.Errorf("client A after an unrelated edit: %d, want 429 (buckets kept)", res.Status)
	}
	for i := range 2 { // B spent one of its 3 tokens before the edit
		if res := other.get("limited.test", "/"); res.Status != 200 {
			t.Errorf("client B request %d after the edit: %d, want 200", i+2, res.Status)
		}
	}
	if res := other.get("limited.test", "/"); res.Status != http.StatusTooManyRequests {
		t.Errorf("client B's 4th request: %d, want 429", res.Status)
	}
}

func TestIPAllowList(t *testing.T) {
	b := StartBackend(t, "b", nil)
	// The ipStrategy cases come through an entry point that trusts the
	// client as a proxy: elsewhere its X-Forwarded-For is replaced.
	trusted := reservedAddr(t, false)
	f := StartFerry(t, Options{EntryPoints: fmt.Sprintf(`  trusted:
    address: %q
    forwardedHeaders:
      trustedIPs: ["127.0.0.1"]
`, trusted), Dynamic: dyn(`
http:
  routers:
    office:
      rule: "Host('office.test')"
      service: svc
      middlewares: [office-only]
    proxied:
      rule: "Host('proxied.test')"
      service: svc
      middlewares: [via-proxy]
    typo:
      rule: "Host('typo.test')"
      service: svc
      middlewares: [bad-range]
  middlewares:
    office-only:
      ipAllowList:
        sourceRange: ["127.0.0.2", "10.0.0.0/8"]
    via-proxy:
      ipAllowList:
        sourceRange: ["192.0.2.0/24"]
        ipStrategy:
          depth: 1
    bad-range:
      ipAllowList:
        sourceRange: ["10.0.0.0/33"]
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, b.URL)})
	in, out := clientFrom(t, f, "127.0.0.2"), clientFrom(t, f, "127.0.0.1")
	waitFor(t, waitTimeout, "office.test served to 127.0.0.2", func() (bool, string) {
		res := in.get("office.test", "/")
		return res.Status == 200 && res.Backend() == "b", strconv.Itoa(res.Status)
	})
	if res := out.get("office.test", "/"); res.Status != http.StatusForbidden || res.Backend() != "" {
		t.Errorf("client outside the list: %d from %q, want 403 from Ferry", res.Status, res.Backend())
	}
	spoof := http.Header{"X-Forwarded-For": {"10.1.1.1"}}
	if res := out.do("GET", "office.test", "/", spoof, nil); res.Status != http.StatusForbidden {
		t.Errorf("X-Forwarded-For without an ipStrategy is not trusted: got %d, want 403", res.Status)
	}
	proxy := clientFrom(t, f, "127.0.0.1")
	proxy.addr = trusted
	if res := proxy.do("GET", "proxied.test", "/", http.Header{"X-Forwarded-For": {"203.0.113.9, 192.0.2.10"}}, nil); res.Status != 200 {
		t.Errorf("depth 1 picks the address the trusted proxy added: %d, want 200", res.Status)
	}
	if res := proxy.do("GET", "proxied.test", "/", http.Header{"X-Forwarded-For": {"192.0.2.10, 203.0.113.9"}}, nil); res.Status != http.StatusForbidden {
		t.Errorf("depth 1 with another last hop: %d, want 403", res.Status)
	}
	if res := out.do("GET", "proxied.test", "/", http.Header{"X-Forwarded-For": {"203.0.113.9, 192.0.2.10"}}, nil); res.Status != http.StatusForbidden {
		t.Errorf("the same header from an untrusted client: %d, want 403 (replaced by its own address)", res.Status)
	}
	// A bad CIDR disables the middleware with the reason, and the routers using it.
	status, errs := routerStatus(f, "typo@file")
	if status != "disabled" || !strings.Contains(strings.Join(errs, " "), `"bad-range@file" is disabled`) {
		t.Errorf("router with a bad ipAllowList: status %q errors %q, want disabled naming the middleware", status, errs)
	}
	status, errs = middlewareStatus(f, "bad-range@file")
	if status != "disabled" || !strings.Contains(strings.Join(errs, " "), `ipAllowList.sourceRange[0]: invalid CIDR "10.0.0.0/33"`) {
		t.Errorf("middleware with a bad CIDR: status %q errors %q, want disabled naming the option and CIDR", status, errs)
	}
	if res := in.get("typo.test", "/"); res.Status != http.StatusNotFound {
		t.Errorf("disabled router: %d, want 404", res.Status)
	}
}

func TestInFlightReq(t *testing.T) {
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	b := StartBackend(t, "b", map[string]http.HandlerFunc{
		"/hold": func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-time.After(waitTimeout):
			}
			w.Header().Set("X-Backend", "b")
		},
	})
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    one:
      rule: "Host('one.test')"
      service: svc
      middlewares: [one-at-a-time]
  middlewares:
    one-at-a-time:
      inFlightReq:
        amount: 1
        sourceCriterion:
          ipStrategy: {}
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, b.URL)})
	f.WaitRoute("one.test", "/", 200, "b")
	a, other := clientFrom(t, f, "127.0.0.1"), clientFrom(t, f, "127.0.0.2")
	var wg sync.WaitGroup
	defer wg.Wait()
	var first atomic.Int64
	wg.Go(func() { first.Store(int64(a.get("one.test", "/hold").Status)) })
	<-entered
	if res := a.get("one.test", "/"); res.Status != http.StatusTooManyRequests {
		t.Errorf("second concurrent request of client A: %d, want 429", res.Status)
	}
	if res := other.get("one.test", "/"); res.Status != 200 {
		t.Errorf("client B meanwhile: %d, want 200", res.Status)
	}
	close(release)
	wg.Wait()
	if first.Load() != 200 {
		t.Errorf("the held request: %d, want 200", first.Load())
	}
	if res := a.get("one.test", "/"); res.Status != 200 {
		t.Errorf("client A once its request finished: %d, want 200", res.Status)
	}
}
