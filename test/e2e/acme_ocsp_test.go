package e2e

import (
	"crypto"
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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// apiOCSP is one element of /api/tls/ocsp, and the ocsp field of
// /api/tls/certificates.
type apiOCSP struct {
	Names   []string `json:"names"`
	State   string   `json:"state"`
	Stapled bool     `json:"stapled"`
	Error   string   `json:"error"`
}

// TestOCSPStaplingFiles: certificates from tls.certificates whose issuer
// runs an OCSP responder (openssl ocsp, Debian's) are served with a good
// staple; a revoked one is served without, and the API says which.
func TestOCSPStaplingFiles(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	responder := freeAddr(t)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test OCSP CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	writePEMKey(t, filepath.Join(dir, "ca.key"), caKey)
	writeFile(t, filepath.Join(dir, "ca.pem"), caPEM)
	var index strings.Builder
	var certs strings.Builder
	for i, name := range []string{"good.ocsp.test", "revoked.ocsp.test"} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		serial := int64(0x1001 + i)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			OCSPServer: []string{"http://" + responder}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
		writeFile(t, certFile, append(leafPEM, caPEM...)) // leaf, then its issuer
		writePEMKey(t, keyFile, key)
		fmt.Fprintf(&certs, "    - certFile: %q\n      keyFile: %q\n", certFile, keyFile)
		exp := tmpl.NotAfter.UTC().Format("060102150405Z")
		if i == 0 {
			fmt.Fprintf(&index, "V\t%s\t\t%X\tunknown\t/CN=%s\n", exp, serial, name)
		} else {
			fmt.Fprintf(&index, "R\t%s\t%s\t%X\tunknown\t/CN=%s\n", exp, time.Now().Add(-time.Minute).UTC().Format("060102150405Z"), serial, name)
		}
	}
	writeFile(t, filepath.Join(dir, "index.txt"), []byte(index.String()))
	writeFile(t, filepath.Join(dir, "index.txt.attr"), []byte("unique_subject = no\n"))
	// openssl ocsp takes a port only (it listens on every address; the
	// certificates send Ferry to 127.0.0.1). It serves one connection at
	// a time and hangs on one closed without a request: readiness is read
	// from its output rather than probed.
	out := &syncBuffer{}
	startProcess(t, "openssl-ocsp", out, "openssl", "ocsp", "-index", filepath.Join(dir, "index.txt"), "-port", portOfAddr(responder),
		"-rsigner", filepath.Join(dir, "ca.pem"), "-rkey", filepath.Join(dir, "ca.key"), "-CA", filepath.Join(dir, "ca.pem"),
		"-nmin", "10", "-ignore_err")
	for deadline := time.Now().Add(waitTimeout); !strings.Contains(out.String(), "waiting for OCSP client connections"); {
		if time.Now().After(deadline) {
			t.Fatalf("openssl ocsp not ready: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	f, _ := newResolverFerry(t, func(web, secure string) *pebbleCA { return &pebbleCA{} }, nil,
		"tls:\n  certificates:\n"+certs.String())
	f.start()
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	deadline := time.Now().Add(30 * time.Second)
	var cs tls.ConnectionState
	for {
		var err error
		cs, err = f.handshakeWith(&tls.Config{ServerName: "good.ocsp.test", RootCAs: roots})
		if err == nil && len(cs.OCSPResponse) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("good.ocsp.test: no OCSP staple within 30s (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := ocsp.ParseResponseForCert(cs.OCSPResponse, cs.PeerCertificates[0], ca)
	if err != nil || resp.Status != ocsp.Good {
		t.Errorf("good.ocsp.test staple: %v, status %v; want a good response signed by the CA", err, resp)
	}
	cs, err = f.handshakeWith(&tls.Config{ServerName: "revoked.ocsp.test", RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.OCSPResponse) != 0 {
		t.Errorf("revoked.ocsp.test is served with a staple")
	}
	var states []apiOCSP
	deadline = time.Now().Add(10 * time.Second)
	for {
		f.apiGet("/api/tls/ocsp", &states)
		got := map[string]apiOCSP{}
		for _, s := range states {
			got[strings.Join(s.Names, ",")] = s
		}
		g, r := got["good.ocsp.test"], got["revoked.ocsp.test"]
		if g.State == "good" && g.Stapled && r.State == "revoked" && !r.Stapled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/tls/ocsp: %+v; want good.ocsp.test good and stapled, revoked.ocsp.test revoked and not stapled", states)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOCSPStaplingACME: certificates from ACME are stapled by certmagic
// when the CA names an OCSP responder (Pebble has none of its own: the
// test runs one that signs with Pebble's intermediate key and asks Pebble
// for the certificate's status), and the API shows the staple.
func TestOCSPStaplingACME(t *testing.T) {
	t.Parallel()
	responder := &pebbleOCSP{}
	srv := newLoopbackServer(t, responder)
	t.Cleanup(srv.Close)
	backend := acmeBackend(t, "app")
	f, ca := newResolverFerry(t, func(web, secure string) *pebbleCA {
		return startPebbleWith(t, web, secure, pebbleOptions{OCSPResponderURL: srv.URL})
	}, map[string]string{"le": "      tlsChallenge: {}\n"}, acmeRouters(backend, map[string]string{"ocsp.ferry.test": "le"}))
	responder.load(t, ca)
	f.start()
	f.waitValid("ocsp.ferry.test", ca.Roots, issueTimeout)
	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, err := f.handshakeWith(&tls.Config{ServerName: "ocsp.ferry.test", RootCAs: ca.Roots})
		if err == nil && len(cs.OCSPResponse) > 0 {
			resp, err := ocsp.ParseResponseForCert(cs.OCSPResponse, cs.PeerCertificates[0], responder.issuer)
			if err != nil || resp.Status != ocsp.Good {
				t.Fatalf("staple: %v %v, want good", err, resp)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ocsp.ferry.test: no OCSP staple within 30s (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var certs []struct {
		Domain string   `json:"domain"`
		OCSP   *apiOCSP `json:"ocsp"`
	}
	f.apiGet("/api/tls/certificates", &certs)
	for _, c := range certs {
		if c.Domain == "ocsp.ferry.test" && (c.OCSP == nil || c.OCSP.State != "good" || !c.OCSP.Stapled) {
			t.Errorf("/api/tls/certificates: ocsp.ferry.test ocsp %+v, want good and stapled", c.OCSP)
		}
	}
}

// pebbleOCSP answers OCSP requests for Pebble's certificates: signed by
// Pebble's intermediate, with the status Pebble's management API gives.
type pebbleOCSP struct {
	ca     *pebbleCA
	issuer *x509.Certificate
	key    crypto.Signer
}

func (p *pebbleOCSP) load(t testing.TB, ca *pebbleCA) {
	t.Helper()
	p.ca = ca
	get := func(path string) []byte {
		resp, err := ca.Client.Get("https://" + ca.Management + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	block, _ := pem.Decode(get("/intermediates/0"))
	if block == nil {
		t.Fatal("pebble intermediate: no PEM")
	}
	var err error
	if p.issuer, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(get("/intermediate-keys/0"))
	if kb == nil {
		t.Fatal("pebble intermediate key: no PEM")
	}
	var k any
	if k, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		if k, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
			if k, err = x509.ParseECPrivateKey(kb.Bytes); err != nil {
				t.Fatalf("pebble intermediate key: %v", err)
			}
		}
	}
	p.key = k.(crypto.Signer)
}

func (p *pebbleOCSP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := ocsp.Good
	if resp, err := p.ca.Client.Get(fmt.Sprintf("https://%s/cert-status-by-serial/%x", p.ca.Management, req.SerialNumber)); err == nil {
		var st struct{ Status string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		switch {
		case resp.StatusCode != http.StatusOK:
			status = ocsp.Unknown
		case st.Status == "Revoked":
			status = ocsp.Revoked
		}
	}
	now := time.Now().Truncate(time.Minute)
	der, err := ocsp.CreateResponse(p.issuer, p.issuer, ocsp.Response{Status: status, SerialNumber: req.SerialNumber,
		ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, p.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(der)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writePEMKey(t testing.TB, path string, key crypto.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
