// Package acme obtains and renews TLS certificates from an ACME CA (Let's
// Encrypt or any RFC 8555 CA) for the names of routers that ask for them
// with tls.certResolver. It wraps certmagic: one long-lived certificate
// cache for the process, one certmagic configuration per resolver,
// renewal in the background, and a gate that lets only names from the
// live configuration be issued.
package acme

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"
)

// LetsEncrypt is the default CA directory: Let's Encrypt's production CA.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config is one certificate resolver's ACME settings
// (certificatesResolvers.<name>.acme in the static configuration).
type Config struct {
	// Email is the contact address of the ACME account.
	Email string `json:"email"`
	// CAServer is the CA's directory URL (default Let's Encrypt production;
	// staging is https://acme-staging-v02.api.letsencrypt.org/directory).
	CAServer string `json:"caServer"`
	// Storage is where certificates, keys, the account and locks are kept: a
	// directory (default "acme" next to the static configuration file), or,
	// shared by replicas, etcd://host:port[,host:port]/prefix or
	// consul://host:port/prefix (prefix default ferry/acme).
	Storage string `json:"storage"`
	// KeyType is the certificates' key type: EC256 (default), EC384,
	// RSA2048, RSA4096 or RSA8192.
	KeyType string `json:"keyType"`
	// HTTPChallenge, when set, answers the HTTP-01 challenge on an entry point.
	HTTPChallenge *HTTPChallenge `json:"httpChallenge"`
	// TLSChallenge, when set, answers the TLS-ALPN-01 challenge on every
	// entry point's TLS connections (the CA connects to port 443).
	TLSChallenge *TLSChallenge `json:"tlsChallenge"`
	// DNSChallenge, when set, solves every name with the DNS-01 challenge
	// through a DNS provider (the only challenge for wildcard names).
	DNSChallenge *DNSChallenge `json:"dnsChallenge"`
	// OnDemand, when set, lets routers with tls.onDemand obtain
	// certificates at the first handshake of names the ask URL allows.
	OnDemand *OnDemand `json:"onDemand"`
	// CACertificates are PEM files of extra roots to trust when talking to
	// the CA server (a private or test CA), on top of the system roots.
	CACertificates []string `json:"caCertificates"`
	// EAB is the external account binding some CAs require.
	EAB *EAB `json:"eab"`
}

// HTTPChallenge configures the HTTP-01 challenge.
type HTTPChallenge struct {
	// EntryPoint names the entry point the CA reaches on port 80.
	EntryPoint string `json:"entryPoint"`
}

// TLSChallenge enables the TLS-ALPN-01 challenge; it has no options.
type TLSChallenge struct{}

// EAB is an external account binding.
type EAB struct {
	// KID is the key identifier the CA gave.
	KID string `json:"kid"`
	// HMACEncoded is the base64url-encoded MAC key the CA gave.
	HMACEncoded string `json:"hmacEncoded"`
}

// keyTypes maps the configuration's key types to certmagic's.
var keyTypes = map[string]certmagic.KeyType{
	"":        certmagic.P256,
	"EC256":   certmagic.P256,
	"EC384":   certmagic.P384,
	"RSA2048": certmagic.RSA2048,
	"RSA4096": certmagic.RSA4096,
	"RSA8192": certmagic.RSA8192,
}

// Check reports every problem of the resolver named name; entryPoints are
// the names of the static configuration's entry points. Paths are used as
// given (the caller resolves them first).
func (c *Config) Check(name string, entryPoints map[string]string) []string {
	at := "certificatesResolvers." + name + ".acme"
	var out []string
	if _, ok := keyTypes[strings.ToUpper(c.KeyType)]; !ok {
		out = append(out, fmt.Sprintf("%s.keyType: %q is not EC256, EC384, RSA2048, RSA4096 or RSA8192", at, c.KeyType))
	}
	if c.HTTPChallenge == nil && c.TLSChallenge == nil && c.DNSChallenge == nil {
		out = append(out, fmt.Sprintf("%s: set httpChallenge, tlsChallenge or dnsChallenge", at))
	}
	if c.DNSChallenge != nil {
		out = append(out, c.DNSChallenge.check(at)...)
	}
	if c.OnDemand != nil {
		out = append(out, c.OnDemand.check(at)...)
	}
	if h := c.HTTPChallenge; h != nil {
		if h.EntryPoint == "" {
			out = append(out, fmt.Sprintf("%s.httpChallenge.entryPoint: missing", at))
		} else if _, ok := entryPoints[h.EntryPoint]; !ok {
			out = append(out, fmt.Sprintf("%s.httpChallenge.entryPoint: entry point %q does not exist", at, h.EntryPoint))
		}
	}
	if c.EAB != nil && (c.EAB.KID == "" || c.EAB.HMACEncoded == "") {
		out = append(out, fmt.Sprintf("%s.eab: set kid and hmacEncoded", at))
	}
	if _, err := ParseStorage(c.Storage); err != nil {
		out = append(out, fmt.Sprintf("%s.storage: %v", at, err))
	}
	for i, f := range c.CACertificates {
		if _, err := readRoots(f); err != nil {
			out = append(out, fmt.Sprintf("%s.caCertificates[%d]: %v", at, i, err))
		}
	}
	return out
}

// Resolve makes the resolver's relative paths relative to dir, and sets
// the default storage directory.
func (c *Config) Resolve(dir string) {
	if c.Storage == "" {
		c.Storage = "acme"
	}
	if !strings.Contains(c.Storage, "://") {
		c.Storage = resolvePath(dir, c.Storage)
	}
	for i, f := range c.CACertificates {
		c.CACertificates[i] = resolvePath(dir, f)
	}
}

func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// caServer returns the CA directory URL.
func (c *Config) caServer() string {
	if c.CAServer == "" {
		return LetsEncrypt
	}
	return c.CAServer
}

// trustedRoots returns the system roots plus CACertificates, or nil when
// there are no extra roots (certmagic then uses the system's).
func (c *Config) trustedRoots() (*x509.CertPool, error) {
	if len(c.CACertificates) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range c.CACertificates {
		certs, err := readRoots(f)
		if err != nil {
			return nil, fmt.Errorf("acme: caCertificates: %w", err)
		}
		for _, cert := range certs {
			pool.AddCert(cert)
		}
	}
	return pool, nil
}

// readRoots reads the certificates of a PEM file.
func readRoots(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return certs, nil
}

// eab returns certmagic's form of the external account binding.
func (c *Config) eab() *acme.EAB {
	if c.EAB == nil {
		return nil
	}
	return &acme.EAB{KeyID: c.EAB.KID, MACKey: c.EAB.HMACEncoded}
}

// splitAddress returns the host and port of an entry point's address.
func splitAddress(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		return "", 0, err
	}
	return host, p, nil
}
