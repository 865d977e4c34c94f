package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// issueTimeout bounds the wait for a certificate from Pebble.
const issueTimeout = 30 * time.Second

// apiTLSRouter is one element of /api/tls/routers.
type apiTLSRouter struct {
	Router   string   `json:"router"`
	Resolver string   `json:"resolver"`
	Domains  []string `json:"domains"`
	Errors   []string `json:"errors"`
	Status   string   `json:"status"`
}

// apiTLSCertificate is one element of /api/tls/certificates.
type apiTLSCertificate struct {
	Domain   string   `json:"domain"`
	Resolver string   `json:"resolver"`
	Routers  []string `json:"routers"`
	Status   string   `json:"status"`
	Error    string   `json:"error"`
	Attempts int      `json:"attempts"`
}

func TestACME(t *testing.T) {
	t.Parallel()
	backend := acmeBackend(t, "app")
	hosts := map[string]string{
		"http.ferry.test":    "pebble-http",
		"alpn.ferry.test":    "pebble-tls",
		"refused.ferry.test": "pebble-http",
	}
	f, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA {
		return startPebble(t, web, secure, "refused.ferry.test")
	}, "", acmeRouters(backend, hosts))
	f.start()

	t.Run("HTTP-01 through the web entry point", func(t *testing.T) {
		f.t = t
		took := f.waitValid("http.ferry.test", ca.Roots, issueTimeout)
		t.Logf("first valid certificate for http.ferry.test after %s", took)
		resp, body, err := f.httpsGet("http.ferry.test", "/hello", ca.Roots)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"app"`) {
			t.Fatalf("GET https://http.ferry.test/hello: %v %v %s", err, resp, body)
		}
		if countLines(f.Logs(), "served key authentication", "http-01", "http.ferry.test") == 0 {
			t.Errorf("no HTTP-01 answer for http.ferry.test in the log")
		}
	})
	t.Run("TLS-ALPN-01 on the TLS entry point", func(t *testing.T) {
		f.t = t
		f.waitValid("alpn.ferry.test", ca.Roots, issueTimeout)
		if countLines(f.Logs(), "served key authentication", "tls-alpn-01", "alpn.ferry.test") == 0 {
			t.Errorf("no TLS-ALPN-01 answer for alpn.ferry.test in the log")
		}
		if countLines(f.Logs(), "served key authentication", "http-01", "alpn.ferry.test") != 0 {
			t.Errorf("alpn.ferry.test was validated over HTTP-01")
		}
	})
	t.Run("a refused name fails alone, with the CA's problem, and backs off", func(t *testing.T) {
		f.t = t
		var rt apiTLSRouter
		deadline := time.Now().Add(issueTimeout)
		for {
			err := f.apiTry("/api/tls/routers/refused-ferry-test@file", &rt)
			if err == nil && rt.Status == "failed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("router refused-ferry-test@file: status %q (%v), want failed", rt.Status, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if msg := strings.Join(rt.Errors, "; "); !strings.Contains(msg, "refused.ferry.test") || !strings.Contains(msg, "rejectedIdentifier") {
			t.Errorf("router error %q: want the name and the CA's rejectedIdentifier problem", msg)
		}
		if countLines(f.Logs(), "certificate order failed", `"domain":"refused.ferry.test"`, "rejectedIdentifier") != 1 {
			t.Errorf("want one log line with the domain and the CA's problem")
		}
		// The next attempt is a minute away: no order in the next seconds.
		time.Sleep(3 * time.Second)
		if n := countLines(f.Logs(), "certificate order failed", "refused.ferry.test"); n != 1 {
			t.Errorf("%d failed orders for refused.ferry.test within seconds, want 1 (backoff)", n)
		}
		// The router still serves (with the default certificate), and
		// its neighbours keep their certificates.
		chain, err := f.handshake("refused.ferry.test")
		if err != nil || verifyChain(chain, ca.Roots, "refused.ferry.test") == nil {
			t.Errorf("refused.ferry.test: handshake %v, want the default certificate", err)
		}
		for _, ok := range []string{"http.ferry.test", "alpn.ferry.test"} {
			if resp, _, err := f.httpsGet(ok, "/", ca.Roots); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("GET https://%s/: %v", ok, err)
			}
		}
		var routers []apiTLSRouter
		f.apiGet("/api/tls/routers", &routers)
		for _, r := range routers {
			if r.Router != "refused-ferry-test@file" && r.Status != "valid" {
				t.Errorf("router %s: status %q %v, want valid", r.Router, r.Status, r.Errors)
			}
		}
	})
	t.Run("HTTP is redirected to HTTPS except the challenge path", func(t *testing.T) {
		f.t = t
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string) *http.Response {
			req, _ := http.NewRequest(http.MethodGet, "http://"+f.Web+path, nil)
			req.Host = "http.ferry.test"
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			resp.Body.Close()
			return resp
		}
		resp := get("/a/b?x=1")
		want := fmt.Sprintf("https://http.ferry.test:%s/a/b?x=1", portOfAddr(f.Secure))
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("GET /a/b?x=1: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if resp := get("/.well-known/acme-challenge/unknown-token"); resp.StatusCode == http.StatusMovedPermanently {
			t.Errorf("challenge path redirected to %q", resp.Header.Get("Location"))
		}
	})
	t.Run("a router added later gets its certificate; a removed one is no longer managed", func(t *testing.T) {
		f.t = t
		hosts["late.ferry.test"] = "pebble-tls"
		f.writeDynamic(acmeRouters(backend, hosts))
		took := f.waitValid("late.ferry.test", ca.Roots, issueTimeout)
		t.Logf("router appeared -> first valid HTTPS handshake for late.ferry.test: %s", took)
		delete(hosts, "late.ferry.test")
		f.writeDynamic(acmeRouters(backend, hosts))
		deadline := time.Now().Add(waitTimeout)
		for {
			var certs []apiTLSCertificate
			f.apiGet("/api/tls/certificates", &certs)
			managed := false
			for _, c := range certs {
				managed = managed || c.Domain == "late.ferry.test"
			}
			if !managed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("late.ferry.test still managed after its router left")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if countLines(f.Logs(), "certificate no longer managed", "late.ferry.test") != 1 {
			t.Errorf("no log line for late.ferry.test leaving management")
		}
	})
	t.Run("a restart serves stored certificates at once, without a new order", func(t *testing.T) {
		f.t = t
		orders := ca.Orders()
		if orders < 2 {
			t.Fatalf("pebble saw %d orders before the restart, want at least 2", orders)
		}
		f.stop()
		f.start()
		// The very first handshake gets the stored certificate.
		for _, name := range []string{"http.ferry.test", "alpn.ferry.test"} {
			chain, err := f.handshake(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := verifyChain(chain, ca.Roots, name); err != nil {
				t.Errorf("%s: first handshake after restart: %v (subject %s)", name, err, chain[0].Subject)
			}
		}
		time.Sleep(2 * time.Second)
		if got := ca.Orders(); got != orders {
			t.Errorf("pebble saw %d orders after the restart, want %d (none new)", got, orders)
		}
		if countLines(f.Logs(), "certificate loaded from storage", "http.ferry.test") != 1 {
			t.Errorf("no log line for loading http.ferry.test from storage")
		}
	})
}

// portOfAddr returns the port of host:port.
func portOfAddr(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}
