package e2e

import (
	"testing"
	"time"
)

// TestTLSDefaultGeneratedCert: tls.stores.default.defaultGeneratedCert
// obtains a certificate from an ACME resolver (Pebble, TLS-ALPN-01) and
// serves it to handshakes whose name no certificate covers; its status is
// listed with the routers' certificates.
func TestTLSDefaultGeneratedCert(t *testing.T) {
	t.Parallel()
	backend := acmeBackend(t, "app")
	dynamic := acmeRouters(backend, map[string]string{"app.ferry.test": "pebble-tls"}) + `tls:
  stores:
    default:
      defaultGeneratedCert:
        resolver: pebble-http
        domain:
          main: default.ferry.test
`
	f, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA { return startPebble(t, web, secure) }, "", dynamic)
	f.start()
	// The default certificate is for default.ferry.test: a handshake for a
	// name nobody serves gets it once obtained (the self-signed one before).
	deadline := time.Now().Add(issueTimeout)
	for {
		chain, err := f.handshake("nobody.ferry.test")
		if err == nil && verifyChain(chain, ca.Roots, "default.ferry.test") == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the generated default certificate is not served within %s: %v", issueTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Names with certificates of their own keep them.
	f.waitValid("app.ferry.test", ca.Roots, issueTimeout)
	var r apiTLSRouter
	f.apiGet("/api/tls/routers/tls.stores.default@file.defaultGeneratedCert", &r)
	if r.Status != "valid" || len(r.Domains) != 1 || r.Domains[0] != "default.ferry.test" {
		t.Fatalf("status of the default certificate: %+v", r)
	}
}
