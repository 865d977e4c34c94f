package router

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// writeKeyPair writes a fresh self-signed certificate and its key to dir.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c, err := DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestCertificatesReloadOnlyWhenFilesChange: a rebuild serves the same
// certificate without reading it again, and a rewritten file is picked up.
func TestCertificatesReloadOnlyWhenFilesChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir)
	cfg := &config.Config{TLS: config.TLS{Certificates: []config.Certificate{{CertFile: certFile, KeyFile: keyFile}}}}
	const name = "ferry.default.invalid"

	first := Build(Input{Config: cfg}, testOptions(nil))
	second := Build(Input{Config: cfg}, testOptions(first))
	if first.certificate(name) == nil || first.certificate(name) != second.certificate(name) {
		t.Fatal("an unchanged certificate was loaded again (or not at all)")
	}

	writeKeyPair(t, dir)
	later := time.Now().Add(time.Minute)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	third := Build(Input{Config: cfg}, testOptions(second))
	if third.certificate(name) == nil || third.certificate(name) == second.certificate(name) {
		t.Fatal("a rewritten certificate file was not read again")
	}
	if ps := third.Problems(); len(ps) != 0 {
		t.Fatal(ps)
	}
}
