package router

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// fakeSource is a certificate source holding one certificate for any
// name in names, and a challenge certificate.
type fakeSource struct {
	names     map[string]bool
	cert      *tls.Certificate
	challenge *tls.Certificate
}

func (f *fakeSource) IsChallenge(h *tls.ClientHelloInfo) bool {
	return len(h.SupportedProtos) == 1 && h.SupportedProtos[0] == "acme-tls/1"
}

func (f *fakeSource) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if f.IsChallenge(h) {
		return f.challenge, nil
	}
	if f.names[h.ServerName] {
		return f.cert, nil
	}
	return nil, nil
}

// pemPair returns a fresh certificate as PEM text.
func pemPair(t *testing.T) (*tls.Certificate, string, string) {
	t.Helper()
	c, err := DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func TestGetCertificateOrder(t *testing.T) {
	def, _, _ := pemPair(t)
	acmeCert, _, _ := pemPair(t)
	challenge, _, _ := pemPair(t)
	configured, certPEM, keyPEM := pemPair(t)
	src := &fakeSource{names: map[string]bool{"ferry.default.invalid": true, "acme.example.com": true}, cert: acmeCert, challenge: challenge}
	sw := NewSwitcher(zap.NewNop(), SwitcherOptions{DefaultCertificate: def, Certificates: src})
	// The configured certificate's name is ferry.default.invalid (made by
	// DefaultCertificate), which the source also has: configured wins.
	sw.Apply(Input{Config: &config.Config{TLS: config.TLS{Certificates: []config.Certificate{{CertFile: certPEM, KeyFile: keyPEM}}}}})
	tests := []struct {
		name  string
		hello *tls.ClientHelloInfo
		want  *tls.Certificate
	}{
		{"configured first", &tls.ClientHelloInfo{ServerName: "ferry.default.invalid"}, configured},
		{"then ACME", &tls.ClientHelloInfo{ServerName: "acme.example.com"}, acmeCert},
		{"then the default", &tls.ClientHelloInfo{ServerName: "other.example.com"}, def},
		{"challenges go to the source", &tls.ClientHelloInfo{ServerName: "ferry.default.invalid", SupportedProtos: []string{"acme-tls/1"}}, challenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sw.GetCertificate(tt.hello)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || string(got.Certificate[0]) != string(tt.want.Certificate[0]) {
				t.Fatalf("wrong certificate for %s", tt.hello.ServerName)
			}
		})
	}
}
