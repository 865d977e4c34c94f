package entrypoint

import (
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
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// testCA is a certificate authority that signs server and client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs a TLS handshake between client and server over loopback
// TCP (net.Pipe has no buffer: a HelloRetryRequest deadlocks on it).
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		srv := tls.Server(c, server)
		err = srv.Handshake()
		if err == nil {
			_, _ = srv.Write([]byte("x"))
		}
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, client)
	err = c.Handshake()
	if err == nil {
		// In TLS 1.3 the server refuses a client certificate after the
		// client's handshake is done: the first read tells.
		_, err = c.Read(make([]byte, 1))
	}
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	return c.ConnectionState(), err
}

func TestOptionsTLSConfigs(t *testing.T) {
	ca := newTestCA(t)
	serverCert := ca.issue(t, "a.test", x509.ExtKeyUsageServerAuth)
	clientCert := ca.issue(t, "alice", x509.ExtKeyUsageClientAuth)
	other := newTestCA(t).issue(t, "mallory", x509.ExtKeyUsageClientAuth)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(ca.pem), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	getCert := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &serverCert, nil }
	client := func(mod func(*tls.Config)) *tls.Config {
		c := &tls.Config{ServerName: "a.test", RootCAs: roots}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name    string
		opts    config.TLSOptions
		client  *tls.Config
		wantErr string
		check   func(*testing.T, tls.ConnectionState)
	}{
		{"defaults: TLS 1.3, h2", config.TLSOptions{}, client(func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} }), "",
			func(t *testing.T, s tls.ConnectionState) {
				if s.Version != tls.VersionTLS13 || s.NegotiatedProtocol != "h2" {
					t.Errorf("version %x, ALPN %q", s.Version, s.NegotiatedProtocol)
				}
			}},
		{"minVersion refuses an older client", config.TLSOptions{MinVersion: "VersionTLS13"},
			client(func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }), "protocol version", nil},
		{"maxVersion caps the version", config.TLSOptions{MaxVersion: "VersionTLS12"}, client(nil), "",
			func(t *testing.T, s tls.ConnectionState) {
				if s.Version != tls.VersionTLS12 {
					t.Errorf("version %x", s.Version)
				}
			}},
		{"cipher suites: a client offering another is refused",
			config.TLSOptions{MaxVersion: "VersionTLS12", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}},
			client(func(c *tls.Config) { c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256} }), "handshake failure", nil},
		{"cipher suites: the one allowed",
			config.TLSOptions{MaxVersion: "VersionTLS12", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}},
			client(nil), "", func(t *testing.T, s tls.ConnectionState) {
				if s.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
					t.Errorf("cipher %s", tls.CipherSuiteName(s.CipherSuite))
				}
			}},
		{"curves: the one allowed", config.TLSOptions{CurvePreferences: []string{"secp384r1"}}, client(nil), "",
			func(t *testing.T, s tls.ConnectionState) {
				if s.CurveID != tls.CurveP384 {
					t.Errorf("curve %s", s.CurveID)
				}
			}},
		{"curves: a client with no common one is refused", config.TLSOptions{CurvePreferences: []string{"CurveP384"}},
			client(func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} }), "handshake failure", nil},
		{"ALPN: a client offering none of the protocols is refused", config.TLSOptions{ALPNProtocols: []string{"http/1.1"}},
			client(func(c *tls.Config) { c.NextProtos = []string{"h2"} }), "no application protocol", nil},
		{"mTLS: no client certificate", config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{ca.pem}}},
			client(nil), "certificate required", nil},
		{"mTLS: a certificate of another CA", config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{caFile}}},
			client(func(c *tls.Config) { c.Certificates = []tls.Certificate{other} }), "unknown certificate authority", nil},
		{"mTLS: a valid certificate", config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{caFile}}},
			client(func(c *tls.Config) { c.Certificates = []tls.Certificate{clientCert} }), "", nil},
		{"VerifyClientCertIfGiven: none given", config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{ca.pem},
			ClientAuthType: "VerifyClientCertIfGiven"}}, client(nil), "", nil},
		{"RequireAnyClientCert: any certificate", config.TLSOptions{ClientAuth: config.ClientAuth{ClientAuthType: "RequireAnyClientCert"}},
			client(func(c *tls.Config) { c.Certificates = []tls.Certificate{other} }), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forHTTP, forTCP, err := OptionsTLSConfigs(&tt.opts, getCert)
			if err != nil {
				t.Fatal(err)
			}
			if forTCP.MinVersion != forHTTP.MinVersion || forTCP.ClientAuth != forHTTP.ClientAuth {
				t.Fatal("the TCP configuration differs from the HTTP one beyond ALPN")
			}
			state, err := handshake(t, forHTTP, tt.client)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("handshake error %v, want %q", err, tt.wantErr)
			}
			if tt.check != nil && err == nil {
				tt.check(t, state)
			}
		})
	}
}

func TestOptionsTLSConfigsErrorsAndALPN(t *testing.T) {
	_, _, err := OptionsTLSConfigs(&config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{"/nonexistent.pem"}}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "clientAuth.caFiles[0]: ") {
		t.Errorf("missing CA file: %v", err)
	}
	_, _, err = OptionsTLSConfigs(&config.TLSOptions{ClientAuth: config.ClientAuth{CAFiles: []string{"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad inline CA: %v", err)
	}
	forHTTP, forTCP, err := OptionsTLSConfigs(&config.TLSOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(forHTTP.NextProtos, ","); got != "h2,http/1.1,acme-tls/1" {
		t.Errorf("HTTP ALPN %s", got)
	}
	if len(forTCP.NextProtos) != 0 {
		t.Errorf("TCP ALPN %v, want none by default", forTCP.NextProtos)
	}
	forHTTP, forTCP, _ = OptionsTLSConfigs(&config.TLSOptions{ALPNProtocols: []string{"postgresql"}}, nil)
	if got := strings.Join(forHTTP.NextProtos, ","); got != "postgresql,acme-tls/1" || strings.Join(forTCP.NextProtos, ",") != "postgresql" {
		t.Errorf("ALPN HTTP %v, TCP %v", forHTTP.NextProtos, forTCP.NextProtos)
	}
}
