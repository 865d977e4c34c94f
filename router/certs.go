package router

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// certStore picks a certificate by SNI name: exact names first, then
// wildcards one label deep.
type certStore struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // "example.com" for *.example.com
	// loaded keeps what was read, so the next build re-reads only the
	// certificates whose files changed.
	loaded map[config.Certificate]loadedCert
}

// loadedCert is a parsed key pair and the stamp of the files it came from.
type loadedCert struct {
	cert  *tls.Certificate
	stamp string
}

func (s *certStore) get(name string) *tls.Certificate {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c := s.exact[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return s.wildcard[name[i+1:]]
	}
	return nil
}

func (s *certStore) add(c *tls.Certificate) {
	for _, n := range c.Leaf.DNSNames {
		n = strings.ToLower(n)
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if _, dup := s.wildcard[rest]; !dup {
				s.wildcard[rest] = c
			}
		} else if _, dup := s.exact[n]; !dup {
			s.exact[n] = c
		}
	}
	for _, ip := range c.Leaf.IPAddresses {
		if _, dup := s.exact[ip.String()]; !dup {
			s.exact[ip.String()] = c
		}
	}
}

// loadCertificates loads tls.certificates; each that fails is a problem. A
// certificate whose files did not change since the previous build is taken
// from it rather than read again.
func (b *builder) loadCertificates(certs []config.Certificate) *certStore {
	s := &certStore{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{},
		loaded: make(map[config.Certificate]loadedCert, len(certs))}
	for i, c := range certs {
		name := fmt.Sprintf("tls.certificates[%d]", i)
		if b.disabled(config.KindCertificate, name) {
			continue
		}
		stamp := fileStamp(c.CertFile) + "|" + fileStamp(c.KeyFile)
		if b.prev != nil && b.prev.certs != nil {
			if l, ok := b.prev.certs.loaded[c]; ok && l.stamp == stamp {
				s.loaded[c] = l
				s.add(l.cert)
				continue
			}
		}
		cert, err := loadKeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			b.problem(config.Problem{Kind: config.KindCertificate, Name: name, Message: err.Error()})
			continue
		}
		s.loaded[c] = loadedCert{cert: cert, stamp: stamp}
		s.add(cert)
	}
	return s
}

// fileStamp identifies the version of a certificate or key file (size and
// modification time); PEM text given inline is its own version.
func fileStamp(v string) string {
	if strings.Contains(v, "-----BEGIN") {
		return "inline"
	}
	fi, err := os.Stat(v)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}

// loadKeyPair reads a certificate and key, each given as a file path or as
// PEM text.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	read := func(v string) ([]byte, error) {
		if strings.Contains(v, "-----BEGIN") {
			return []byte(v), nil
		}
		return os.ReadFile(v)
	}
	certPEM, err := read(certFile)
	if err != nil {
		return nil, fmt.Errorf("certFile: %w", err)
	}
	keyPEM, err := read(keyFile)
	if err != nil {
		return nil, fmt.Errorf("keyFile: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", certFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// DefaultCertificate makes the self-signed ECDSA P-256 certificate served
// when no configured certificate matches the client's SNI name.
func DefaultCertificate() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("router: default certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("router: default certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Ferry default certificate"},
		DNSNames:     []string{"ferry.default.invalid"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("router: default certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("router: default certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
