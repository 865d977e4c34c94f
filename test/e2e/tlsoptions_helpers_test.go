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
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// privateCA is a private certificate authority made by a test, and the
// files of what it issues.
type privateCA struct {
	dir    string
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	CAPath string
	Roots  *x509.CertPool
}

func newPrivateCA(t *testing.T, name string) *privateCA {
	t.Helper()
	p := &privateCA{dir: t.TempDir()}
	p.key = mustECKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{"Ferry tests"}},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.CAPath = filepath.Join(p.dir, "ca.pem")
	writePEMFile(t, p.CAPath, "CERTIFICATE", der)
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(p.ca)
	return p
}

func mustECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEMFile(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue signs a certificate for cn (and names, as DNS names) and writes
// it and its key as cn.crt and cn.key.
func (p *privateCA) issue(t *testing.T, usage x509.ExtKeyUsage, cn string, names ...string) (tls.Certificate, string, string) {
	t.Helper()
	key := mustECKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: names, ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(p.dir, cn+".crt"), filepath.Join(p.dir, cn+".key")
	writePEMFile(t, certPath, "CERTIFICATE", der)
	writePEMFile(t, keyPath, "PRIVATE KEY", keyDER)
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, certPath, keyPath
}

// tlsHandshake dials addr and completes a TLS handshake with cfg. In TLS
// 1.3 the server judges the client's certificate after the client has
// finished: a refusal shows on the first read, which is made here too.
func tlsHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	raw, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(waitTimeout))
	c := tls.Client(raw, cfg)
	if err := c.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	// An HTTP request makes the server speak (and, in TLS 1.3, report a
	// refused client certificate as an alert).
	if _, err := io.WriteString(c, "GET /ping-tls HTTP/1.1\r\nHost: "+cfg.ServerName+"\r\nConnection: close\r\n\r\n"); err != nil {
		return c.ConnectionState(), err
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return c.ConnectionState(), err
	}
	return c.ConnectionState(), nil
}

// httpsGet sends GET https://host/path to addr with cfg (its ServerName
// is the SNI) and returns the answer, its body, and the connection's state.
func tlsGet(addr string, cfg *tls.Config, h2 bool, host, path string, hdr http.Header) (*http.Response, []byte, error) {
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://"+host+path, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// echoed decodes what the echo backend received.
func echoed(t *testing.T, body []byte) echo.Response {
	t.Helper()
	var r echo.Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("not an echo answer: %v: %q", err, body)
	}
	return r
}

// waitHTTPS waits until GET https://host/ through addr with cfg answers 200.
func waitHTTPS(t *testing.T, addr string, cfg *tls.Config, host string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, _, err := tlsGet(addr, cfg, false, host, "/", nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://%s/ not served within %s: %v %v", host, waitTimeout, resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refusedWith reports whether err is a handshake refusal mentioning one of
// the fragments (the alert the server sent, as crypto/tls words it).
func refusedWith(err error, fragments ...string) bool {
	if err == nil {
		return false
	}
	var ae tls.AlertError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg += " " + ae.Error()
	}
	for _, f := range fragments {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}
