package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap/zaptest"

	"github.com/ferryproxy/ferry/router/config"
)

// storeCertificate writes a certificate for name where certmagic keeps
// the issuer's certificates in a storage directory.
func storeCertificate(t *testing.T, dir, issuerKey, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(60 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	files := map[string][]byte{
		certmagic.StorageKeys.SiteCert(issuerKey, name):       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		certmagic.StorageKeys.SitePrivateKey(issuerKey, name): pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		certmagic.StorageKeys.SiteMeta(issuerKey, name):       []byte(`{"sans":["` + name + `"],"issuer_data":{}}`),
	}
	for k, v := range files {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestManagerServesStoredCertificatesOfLiveNamesOnly(t *testing.T) {
	dir := t.TempDir()
	m, err := New(zaptest.NewLogger(t), Options{
		Resolvers: map[string]*Config{"le": {
			CAServer: "https://127.0.0.1:1/directory", Storage: dir, TLSChallenge: &TLSChallenge{}}},
		EntryPoints: map[string]string{"websecure": "127.0.0.1:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if key := m.resolvers["le"].issuer.IssuerKey(); key != "127.0.0.1:1-directory" {
		t.Fatalf("issuer key %q: the storage layout changed", key)
	}
	stored := storeCertificate(t, dir, m.resolvers["le"].issuer.IssuerKey(), "stored.example.com")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	cfg := routerCfg(map[string]*config.Router{
		"a": {Rule: "Host(`stored.example.com`) || Host(`new.example.com`)", TLS: &config.RouterTLS{CertResolver: "le"}},
	})
	m.Sync(cfg)
	m.WaitLoaded(ctx, 5*time.Second)

	conn, peer := net.Pipe()
	defer conn.Close()
	defer peer.Close()
	hello := func(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name, Conn: conn} }
	c, err := m.GetCertificate(hello("stored.example.com"))
	if err != nil || c == nil || c.Leaf == nil || !c.Leaf.Equal(stored) {
		t.Fatalf("stored.example.com: got %v, %v; want the stored certificate", c, err)
	}
	for _, name := range []string{"new.example.com", "other.example.com"} {
		if c, err := m.GetCertificate(hello(name)); c != nil || err != nil {
			t.Errorf("%s: got %v, %v; want none", name, c, err)
		}
	}
	// The unreachable CA makes the new name fail; the failure is kept.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st CertificateStatus
		for _, s := range m.Certificates() {
			if s.Domain == "new.example.com" {
				st = s
			}
		}
		if st.Status == StateFailed && st.Error != "" && st.Attempts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new.example.com: %+v, want failed after one attempt", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rs := m.Routers(); len(rs) != 1 || rs[0].Status != StateFailed || len(rs[0].Errors) != 1 {
		t.Fatalf("Routers() = %+v, want router a failed with one error", rs)
	}

	// The router leaves: nothing is served any more.
	m.Sync(routerCfg(nil))
	deadline = time.Now().Add(5 * time.Second)
	for {
		c, _ := m.GetCertificate(hello("stored.example.com"))
		if c == nil && len(m.Certificates()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored.example.com still served after its router left")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(m.cache.AllMatchingCertificates("stored.example.com")); n != 0 {
		t.Fatalf("%d certificates for stored.example.com still in the cache (renewed)", n)
	}
}

func TestChallengeHandshakeIsRecognised(t *testing.T) {
	m := &Manager{}
	tests := []struct {
		hello *tls.ClientHelloInfo
		want  bool
	}{
		{&tls.ClientHelloInfo{ServerName: "a.example.com", SupportedProtos: []string{"acme-tls/1"}}, true},
		{&tls.ClientHelloInfo{ServerName: "a.example.com", SupportedProtos: []string{"h2", "acme-tls/1"}}, false},
		{&tls.ClientHelloInfo{SupportedProtos: []string{"acme-tls/1"}}, false},
		{&tls.ClientHelloInfo{ServerName: "a.example.com"}, false},
	}
	for _, tt := range tests {
		if got := m.IsChallenge(tt.hello); got != tt.want {
			t.Errorf("IsChallenge(%q, %v) = %v, want %v", tt.hello.ServerName, tt.hello.SupportedProtos, got, tt.want)
		}
	}
}
