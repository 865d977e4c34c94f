package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// selfSigned writes a self-signed ECDSA P-256 certificate for names into dir
// and returns the certificate and the paths of its PEM files.
func selfSigned(t *testing.T, dir string, names ...string) (*x509.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, names[0]+".crt"), filepath.Join(dir, names[0]+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, certPath, keyPath
}

func TestTLS(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	cert, certPath, keyPath := selfSigned(t, t.TempDir(), "secure.test")
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    secure:
      rule: "Host('secure.test')"
      service: a
      tls: {}
    plain:
      rule: "Host('plain.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
tls:
  certificates:
    - certFile: %q
      keyFile: %q
`, a.URL, certPath, keyPath)})
	f.WaitRoute("plain.test", "/", http.StatusOK, "a")

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	httpsClient := func(cfg *tls.Config, h2 bool) *http.Client {
		tr := &http.Transport{
			TLSClientConfig:   cfg,
			ForceAttemptHTTP2: h2,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, f.Web) // every name resolves to ferry
			},
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	verified := httpsClient(&tls.Config{RootCAs: roots}, true)

	// Wait for the TLS router.
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := verified.Get("https://secure.test/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://secure.test/ not served within %s: %v", waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("https gets the certificate and h2", func(t *testing.T) {
		resp, err := verified.Get("https://secure.test/tls")
		if err != nil {
			t.Fatalf("GET https://secure.test/tls: %v", err)
		}
		defer resp.Body.Close()
		var e echo.Response
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "a" {
			t.Fatalf("status %d from %q", resp.StatusCode, resp.Header.Get("X-Backend"))
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		if resp.TLS == nil || !resp.TLS.PeerCertificates[0].Equal(cert) {
			t.Errorf("ferry did not present the configured certificate for secure.test")
		}
		if got := e.Header("X-Forwarded-Proto"); got != "https" {
			t.Errorf("backend saw X-Forwarded-Proto %q, want https", got)
		}
	})

	t.Run("alpn", func(t *testing.T) {
		f := f.For(t)
		for _, tc := range []struct {
			offer []string
			want  string
		}{
			{[]string{"h2", "http/1.1"}, "h2"},
			{[]string{"http/1.1"}, "http/1.1"},
		} {
			d := &tls.Dialer{Config: &tls.Config{ServerName: "secure.test", RootCAs: roots, NextProtos: tc.offer}}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn, err := d.DialContext(ctx, "tcp", f.Web)
			cancel()
			if err != nil {
				t.Fatalf("TLS handshake offering %v: %v", tc.offer, err)
			}
			got := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol
			conn.Close()
			if got != tc.want {
				t.Errorf("offering %v negotiated %q, want %q", tc.offer, got, tc.want)
			}
		}
		h1 := httpsClient(&tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}, false)
		resp, err := h1.Get("https://secure.test/h1")
		if err != nil {
			t.Fatalf("HTTP/1.1 over TLS: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 {
			t.Fatalf("HTTP/1.1 over TLS: status %d proto %s", resp.StatusCode, resp.Proto)
		}
	})

	t.Run("same entry point serves plain routers", func(t *testing.T) {
		f := f.For(t)
		if res := f.Get("plain.test", "/"); res.Status != http.StatusOK || res.Backend() != "a" {
			t.Fatalf("plain http://plain.test/: status %d from %q", res.Status, res.Backend())
		}
	})

	t.Run("tls router is not served on plain connections", func(t *testing.T) {
		f := f.For(t)
		if res := f.Get("secure.test", "/"); res.Status != http.StatusNotFound {
			t.Fatalf("plain http://secure.test/: status %d, want 404", res.Status)
		}
	})

	t.Run("plain router is not served on tls connections", func(t *testing.T) {
		insecure := httpsClient(&tls.Config{InsecureSkipVerify: true}, true)
		resp, err := insecure.Get("https://plain.test/")
		if err != nil {
			t.Fatalf("https://plain.test/: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("https://plain.test/: status %d, want 404", resp.StatusCode)
		}
	})
}
