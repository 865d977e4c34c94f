package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pebbleCA is a running Pebble ACME test CA with pebble-challtestsrv as its
// DNS server, resolving every name to 127.0.0.1.
type pebbleCA struct {
	// Directory is the ACME directory URL.
	Directory string
	// ListenerCA is the PEM file of the CA that signed Pebble's own
	// HTTPS certificate (what Ferry's caCertificates trusts).
	ListenerCA string
	// Roots holds the root Pebble issues certificates under.
	Roots *x509.CertPool
	// Management is the address of Pebble's management API (roots,
	// intermediates and their keys, certificate status by serial).
	Management string
	// Client trusts Pebble's own HTTPS certificate.
	Client *http.Client

	logs *syncBuffer
}

// pebbleOptions are the settings startPebbleWith adds.
type pebbleOptions struct {
	// Blocked names are refused.
	Blocked []string
	// DNSServer is the DNS server (host:port) Pebble resolves names and
	// reads DNS-01 TXT records with; empty: a pebble-challtestsrv that
	// answers 127.0.0.1 for every name.
	DNSServer string
	// OCSPResponderURL is written into the certificates Pebble issues.
	OCSPResponderURL string
}

// pebbleBin returns the pebble binary: $FERRY_PEBBLE_BIN, else from PATH.
// The test is skipped when neither exists (test/pebble/ensure-pebble.sh
// installs it; make test runs that script).
func pebbleBin(t testing.TB) (pebble, challtestsrv string) {
	t.Helper()
	pebble = os.Getenv("FERRY_PEBBLE_BIN")
	if pebble == "" {
		var err error
		if pebble, err = exec.LookPath("pebble"); err != nil {
			t.Skip("pebble is not installed: run test/pebble/ensure-pebble.sh or make test")
		}
	}
	challtestsrv = filepath.Join(filepath.Dir(pebble), "pebble-challtestsrv")
	if _, err := os.Stat(challtestsrv); err != nil {
		t.Fatalf("pebble-challtestsrv next to %s: %v", pebble, err)
	}
	return pebble, challtestsrv
}

// startPebble starts Pebble validating HTTP-01 on httpPort and TLS-ALPN-01
// on tlsPort of 127.0.0.1; blocked names are refused. Both processes stop
// when the test ends.
func startPebble(t testing.TB, httpPort, tlsPort string, blocked ...string) *pebbleCA {
	t.Helper()
	return startPebbleWith(t, httpPort, tlsPort, pebbleOptions{Blocked: blocked})
}

// startPebbleWith is startPebble with more settings.
func startPebbleWith(t testing.TB, httpPort, tlsPort string, opts pebbleOptions) *pebbleCA {
	t.Helper()
	pebble, challtestsrv := pebbleBin(t)
	dir := t.TempDir()
	dnsAddr := opts.DNSServer
	if dnsAddr == "" {
		dnsAddr = freeUDPAddr(t)
		startProcess(t, "pebble-challtestsrv", nil, challtestsrv,
			"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
			"-dns01", dnsAddr, "-management", freeAddr(t), "-http01", "", "-https01", "", "-tlsalpn01", "")
	}

	caPEM, certPEM, keyPEM := listenerCertificates(t)
	p := &pebbleCA{ListenerCA: filepath.Join(dir, "listener-ca.pem"), logs: &syncBuffer{}}
	for name, data := range map[string][]byte{"listener-ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen, mgmt := freeAddr(t), freeAddr(t)
	hp, tp := atoi(t, httpPort), atoi(t, tlsPort)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": hp, "tlsPort": tp, "ocspResponderURL": opts.OCSPResponderURL, "externalAccountBindingRequired": false,
		"domainBlocklist": opts.Blocked,
	}}
	cfgData, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgPath, cfgData, 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "pebble", p.logs, pebble, "-config", cfgPath, "-dnsserver", dnsAddr)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	p.Directory, p.Management, p.Client = "https://"+listen+"/dir", mgmt, client
	deadline := time.Now().Add(waitTimeout)
	var rootPEM []byte
	for {
		resp, err := client.Get("https://" + mgmt + "/roots/0")
		if err == nil {
			rootPEM, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if r2, err := client.Get(p.Directory); err == nil {
					r2.Body.Close()
					if r2.StatusCode == http.StatusOK {
						break
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble not ready within %s: %v\n%s", waitTimeout, err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Roots = x509.NewCertPool()
	if !p.Roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: no certificate in %q", rootPEM)
	}
	return p
}

// Orders counts the orders Pebble accepted so far.
func (p *pebbleCA) Orders() int { return strings.Count(p.logs.String(), "Added order") }

// startProcess runs a helper process until the test ends; its output goes
// to out (and is printed when the test failed).
func startProcess(t testing.TB, name string, out *syncBuffer, bin string, args ...string) {
	t.Helper()
	if out == nil {
		out = &syncBuffer{}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if name == "pebble" {
		cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tail(out.String(), 8000))
		}
	})
}

// freeUDPAddr returns a loopback UDP address that was free a moment ago.
func freeUDPAddr(t testing.TB) string {
	t.Helper()
	return reservedAddr(t, true)
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return n
}

// listenerCertificates makes a CA and a certificate for 127.0.0.1 and
// localhost signed by it, for Pebble's own HTTPS listeners.
func listenerCertificates(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test pebble listener CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}
