package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// askServer is an on-demand TLS ask endpoint: it allows the names in
// allow and counts every question per name.
type askServer struct {
	URL   string
	mu    sync.Mutex
	allow map[string]bool
	asked map[string]int
}

func startAskServer(t testing.TB, allow ...string) *askServer {
	t.Helper()
	a := &askServer{allow: map[string]bool{}, asked: map[string]int{}}
	for _, n := range allow {
		a.allow[n] = true
	}
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := r.URL.Query().Get("domain")
		a.mu.Lock()
		a.asked[d]++
		ok := a.allow[d]
		a.mu.Unlock()
		if !ok {
			http.Error(w, "not a customer", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL + "/ask"
	return a
}

// Asked returns how often name was asked about.
func (a *askServer) Asked(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked[name]
}

// TestACMEOnDemand: a catch-all router with tls.onDemand gets a
// certificate for a new name during its first handshake when the ask URL
// allows it; a refused name gets the default certificate and never
// reaches the CA; 20 concurrent handshakes for one new name make one
// order; the rate limit bounds orders.
func TestACMEOnDemand(t *testing.T) {
	t.Parallel()
	ask := startAskServer(t, "allowed.customers.test", "swarm.customers.test", "limit1.customers.test", "limit2.customers.test")
	backend := acmeBackend(t, "saas")
	f, ca := newResolverFerry(t, func(web, secure string) *pebbleCA { return startPebble(t, web, secure) }, map[string]string{
		"od": fmt.Sprintf(`      tlsChallenge: {}
      onDemand:
        ask: %q
        rateLimit: {interval: 1m, burst: 3}
`, ask.URL),
	}, fmt.Sprintf(`http:
  routers:
    saas:
      rule: "HostRegexp(`+"`^[a-z0-9-]+\\\\.customers\\\\.test$`"+`)"
      service: app
      tls:
        certResolver: od
        onDemand: true
  services:
    app:
      loadBalancer:
        servers:
          - url: %s
`, backend))
	f.start()
	f.waitRouter("saas@file")

	t.Run("an allowed name gets a valid certificate in its first handshake", func(t *testing.T) {
		f.t = t
		start := time.Now()
		chain, err := f.handshake("allowed.customers.test")
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyChain(chain, ca.Roots, "allowed.customers.test"); err != nil {
			t.Fatalf("first handshake: %v (subject %s)", err, chain[0].Subject)
		}
		t.Logf("first handshake -> valid on-demand certificate for allowed.customers.test: %s", took)
		resp, body, err := f.httpsGet("allowed.customers.test", "/", ca.Roots)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"saas"`) {
			t.Errorf("GET https://allowed.customers.test/: %v %v %s", err, resp, body)
		}
		if n := ca.Orders(); n != 1 {
			t.Errorf("pebble saw %d orders, want 1", n)
		}
		if n := ask.Asked("allowed.customers.test"); n != 1 {
			t.Errorf("ask was asked %d times, want 1", n)
		}
		var certs []struct {
			apiTLSCertificate
			OnDemand bool `json:"onDemand"`
		}
		f.apiGet("/api/tls/certificates", &certs)
		found := false
		for _, c := range certs {
			found = found || (c.Domain == "allowed.customers.test" && c.Status == "valid" && c.OnDemand && c.Resolver == "od")
		}
		if !found {
			t.Errorf("/api/tls/certificates: allowed.customers.test not valid on demand: %+v", certs)
		}
	})
	t.Run("a refused name gets the default certificate and is never ordered", func(t *testing.T) {
		f.t = t
		orders := ca.Orders()
		for i := 0; i < 3; i++ {
			chain, err := f.handshake("refused.customers.test")
			if err != nil {
				t.Fatal(err)
			}
			if verifyChain(chain, ca.Roots, "refused.customers.test") == nil {
				t.Fatalf("refused.customers.test got a valid certificate")
			}
			if err := chain[0].VerifyHostname("refused.customers.test"); err == nil {
				t.Errorf("refused.customers.test: served certificate %s covers the name", chain[0].Subject)
			}
		}
		time.Sleep(500 * time.Millisecond)
		if got := ca.Orders(); got != orders {
			t.Errorf("pebble saw %d orders, want %d (none for a refused name)", got, orders)
		}
		if strings.Contains(ca.logs.String(), "refused.customers.test") {
			t.Errorf("pebble saw refused.customers.test")
		}
		if n := ask.Asked("refused.customers.test"); n != 1 {
			t.Errorf("ask was asked %d times about refused.customers.test, want 1 (the decision is cached)", n)
		}
	})
	t.Run("20 concurrent handshakes for one new name make one order", func(t *testing.T) {
		f.t = t
		orders := ca.Orders()
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		start := time.Now()
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				chain, err := f.handshake("swarm.customers.test")
				if err == nil {
					err = verifyChain(chain, ca.Roots, "swarm.customers.test")
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				failed++
				t.Logf("handshake: %v", err)
			}
		}
		t.Logf("20 concurrent first handshakes for swarm.customers.test done in %s, %d without a valid certificate", time.Since(start), failed)
		if failed > 0 {
			t.Errorf("%d of 20 handshakes got no valid certificate", failed)
		}
		if got := ca.Orders() - orders; got != 1 {
			t.Errorf("pebble saw %d new orders, want exactly 1", got)
		}
		if n := ask.Asked("swarm.customers.test"); n != 1 {
			t.Errorf("ask was asked %d times about swarm.customers.test, want 1", n)
		}
	})
	t.Run("the rate limit bounds orders", func(t *testing.T) {
		f.t = t
		// burst 3 per minute: allowed and swarm took two, limit1 takes the
		// third, limit2 is refused until the minute is over.
		if _, err := f.handshake("limit1.customers.test"); err != nil {
			t.Fatal(err)
		}
		orders := ca.Orders()
		chain, err := f.handshake("limit2.customers.test")
		if err != nil {
			t.Fatal(err)
		}
		if verifyChain(chain, ca.Roots, "limit2.customers.test") == nil {
			t.Errorf("limit2.customers.test got a certificate beyond the rate limit")
		}
		if got := ca.Orders(); got != orders {
			t.Errorf("pebble saw %d orders, want %d", got, orders)
		}
		if countLines(f.Logs(), "on-demand order refused by the rate limit", "limit2.customers.test") == 0 {
			t.Errorf("no log line for the rate limit")
		}
	})
	t.Run("a restart serves on-demand certificates from storage", func(t *testing.T) {
		f.t = t
		orders := ca.Orders()
		f.stop()
		f.start()
		chain, err := f.handshake("allowed.customers.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyChain(chain, ca.Roots, "allowed.customers.test"); err != nil {
			t.Errorf("after restart: %v", err)
		}
		if got := ca.Orders(); got != orders {
			t.Errorf("pebble saw %d orders after the restart, want %d", got, orders)
		}
	})
}

// waitRouter waits until the API lists router name.
func (f *acmeFerry) waitRouter(name string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var rt apiTLSRouter
		if err := f.apiTry("/api/tls/routers/"+name, &rt); err == nil {
			return
		} else if time.Now().After(deadline) {
			f.t.Fatalf("router %s not listed: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// handshakeWith dials websecure with cfg.
func (f *acmeFerry) handshakeWith(cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", f.Secure, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}
