package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/rule"
)

// newResolverFerry writes the configuration of a ferry like acmeFerry's
// ("web", "websecure", the API) whose certificate resolvers are the given
// ones: each value is the YAML under certificatesResolvers.<name>.acme
// after the CA settings, indented by six spaces. ca starts the CA for the
// entry points' ports. The ferry is not started.
func newResolverFerry(t testing.TB, ca func(web, secure string) *pebbleCA, resolvers map[string]string, dynamic string) (*acmeFerry, *pebbleCA) {
	t.Helper()
	dir := t.TempDir()
	f := &acmeFerry{t: t, Web: freeAddr(t), Secure: freeAddr(t), API: freeAddr(t), Dir: dir,
		DynPath: filepath.Join(dir, "dynamic.yaml"), StaticPath: filepath.Join(dir, "ferry.yaml")}
	_, webPort, _ := net.SplitHostPort(f.Web)
	_, securePort, _ := net.SplitHostPort(f.Secure)
	p := ca(webPort, securePort)
	var b strings.Builder
	fmt.Fprintf(&b, `entryPoints:
  web:
    address: %q
  websecure:
    address: %q
    http:
      tls: {}
providers:
  debounce: 20ms
  maxWait: 200ms
  file:
    filename: %q
api:
  insecure: true
  address: %q
log:
  level: info
  format: json
certificatesResolvers:
`, f.Web, f.Secure, f.DynPath, f.API)
	names := make([]string, 0, len(resolvers))
	for n := range resolvers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n    acme:\n      email: ops@ferry.test\n      caServer: %q\n      storage: %q\n      caCertificates: [%q]\n%s",
			n, p.Directory, filepath.Join(dir, "acme"), p.ListenerCA, resolvers[n])
	}
	if err := os.WriteFile(f.StaticPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f.writeDynamic(dynamic)
	return f, p
}

// wildcardRule returns a rule for every subdomain of zone, and whether it
// names the wildcard itself: Host(`*.zone`) when the rule language has
// wildcard hosts, else a HostRegexp (the wildcard then comes from
// tls.domains).
func wildcardRule(zone string) (string, bool) {
	text := "Host(`*." + zone + "`)"
	if r, err := rule.Compile(text); err == nil {
		for _, d := range r.Domains() {
			if d == "*."+zone {
				return text, true
			}
		}
	}
	return "HostRegexp(`^[a-z0-9-]+\\." + strings.ReplaceAll(zone, ".", "\\.") + "$`)", false
}

// TestACMEDNS01Wildcard: a wildcard router with certResolver: dns gets one
// certificate for *.wild.test over DNS-01 (lego's rfc2136 provider writing
// to Knot DNS with TSIG, Pebble reading the TXT record from Knot); it is
// served for every subdomain, obtained once, and the TXT record is gone
// afterwards. A wildcard name on a resolver without dnsChallenge is an
// error on that router.
func TestACMEDNS01Wildcard(t *testing.T) {
	t.Parallel()
	knot := startKnot(t, "wild.test")
	backend := acmeBackend(t, "wild")
	f, ca := newResolverFerry(t, func(web, secure string) *pebbleCA {
		return startPebbleWith(t, web, secure, pebbleOptions{DNSServer: knot.Addr})
	}, map[string]string{
		"dns": fmt.Sprintf(`      dnsChallenge:
        provider: rfc2136
        resolvers: [%q]
        propagation:
          disableANSChecks: true   # knot's NS records point at port 53
`, knot.Addr),
		"http": "      httpChallenge: {entryPoint: web}\n",
	}, "http: {}\n")
	f.Env = knot.Env()
	f.start()

	ruleText, named := wildcardRule("wild.test")
	domains := "        domains:\n          - main: \"*.wild.test\"\n"
	if named {
		domains = "" // the name comes from the rule
	}
	dynamic := fmt.Sprintf(`http:
  routers:
    wild:
      rule: %q
      service: app
      tls:
        certResolver: dns
%s    wrong:
      rule: "Host(`+"`x.other.test`"+`)"
      service: app
      tls:
        certResolver: http
        domains:
          - main: "*.other.test"
  services:
    app:
      loadBalancer:
        servers:
          - url: %s
`, ruleText, domains, backend)
	f.writeDynamic(dynamic)
	took := f.waitValid("a.wild.test", ca.Roots, 60*time.Second)
	t.Logf("router appeared -> first valid HTTPS for a.wild.test with DNS-01 (knot + Pebble, rule %s): %s", ruleText, took)

	t.Run("one wildcard certificate serves every subdomain", func(t *testing.T) {
		f.t = t
		first, err := f.handshake("a.wild.test")
		if err != nil {
			t.Fatal(err)
		}
		if got := first[0].DNSNames; len(got) != 1 || got[0] != "*.wild.test" {
			t.Errorf("certificate names %v, want [*.wild.test]", got)
		}
		for _, name := range []string{"b.wild.test", "another-one.wild.test"} {
			chain, err := f.handshake(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := verifyChain(chain, ca.Roots, name); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if chain[0].SerialNumber.Cmp(first[0].SerialNumber) != 0 {
				t.Errorf("%s: serial %x, want the wildcard certificate's %x", name, chain[0].SerialNumber, first[0].SerialNumber)
			}
			resp, body, err := f.httpsGet(name, "/", ca.Roots)
			if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"wild"`) {
				t.Errorf("GET https://%s/: %v %v %s", name, err, resp, body)
			}
		}
		if n := ca.Orders(); n != 1 {
			t.Errorf("pebble saw %d orders, want 1", n)
		}
		if n := countLines(f.Logs(), "DNS-01 TXT record written", "wild.test"); n != 1 {
			t.Errorf("%d TXT records written for wild.test, want 1", n)
		}
		var certs []apiTLSCertificate
		f.apiGet("/api/tls/certificates", &certs)
		found := false
		for _, c := range certs {
			found = found || (c.Domain == "*.wild.test" && c.Status == "valid" && c.Resolver == "dns")
		}
		if !found {
			t.Errorf("/api/tls/certificates: no valid *.wild.test from resolver dns: %+v", certs)
		}
	})
	t.Run("the TXT record is removed afterwards", func(t *testing.T) {
		f.t = t
		deadline := time.Now().Add(10 * time.Second)
		for {
			txt := knot.TXT(t, "_acme-challenge.wild.test")
			if len(txt) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("_acme-challenge.wild.test still has TXT %q", txt)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if countLines(f.Logs(), "DNS-01 TXT record removed", "wild.test") != 1 {
			t.Errorf("no log line for removing the TXT record")
		}
	})
	t.Run("a wildcard on a resolver without dnsChallenge is an error on that router", func(t *testing.T) {
		f.t = t
		var rt apiTLSRouter
		f.apiGet("/api/tls/routers/wrong@file", &rt)
		msg := strings.Join(rt.Errors, "; ")
		if rt.Status != "failed" || !strings.Contains(msg, "*.other.test") || !strings.Contains(msg, "DNS-01") || !strings.Contains(msg, `"http"`) {
			t.Errorf("router wrong@file: status %q, errors %q: want failed, naming *.other.test, DNS-01 and the resolver", rt.Status, msg)
		}
		if strings.Contains(ca.logs.String(), "other.test") {
			t.Errorf("pebble saw an order for *.other.test")
		}
	})
	t.Run("TSIG secret stays out of logs and API", func(t *testing.T) {
		f.t = t
		if strings.Contains(f.Logs(), knot.Secret) {
			t.Errorf("the TSIG secret is in ferry's log")
		}
		for _, path := range []string{"/api/tls/certificates", "/api/tls/routers", "/api/rawdata"} {
			resp, err := http.Get("http://" + f.API + path)
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), knot.Secret) {
				t.Errorf("the TSIG secret is in %s", path)
			}
		}
	})
}
