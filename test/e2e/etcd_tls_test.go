package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in a temporary directory.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der, kder
	}
	p := testPKI{CA: write("ca.pem", "CERTIFICATE", caDER)}
	sc, sk := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.ServerCert, p.ServerKey = write("server.pem", "CERTIFICATE", sc), write("server-key.pem", "EC PRIVATE KEY", sk)
	cc, ck := issue(3, "ferry", x509.ExtKeyUsageClientAuth)
	p.ClientCert, p.ClientKey = write("client.pem", "CERTIFICATE", cc), write("client-key.pem", "EC PRIVATE KEY", ck)
	return p
}

// TestEtcdTLSAuth reads an etcd that requires client certificates and a
// user name and password.
func TestEtcdTLSAuth(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	const user, password = "root", "s3cret"
	e := startEtcd(t, &pki)

	// Enable authentication with the test's own client, then use a
	// client that logs in.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, step := range []func() error{
		func() error { _, err := e.KV.UserAdd(ctx, user, password); return err },
		func() error { _, err := e.KV.UserGrantRole(ctx, user, "root"); return err },
		func() error { _, err := e.KV.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("enable etcd auth: %v", err)
		}
	}
	authed, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL}, TLS: e.tls, Username: user, Password: password,
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer authed.Close()
	a := StartBackend(t, "a", nil)
	f := StartFerryWith(t, fmt.Sprintf("  etcd:\n    endpoints: [%q]\n    username: %s\n    password: %s\n"+
		"    tls:\n      ca: %q\n      cert: %q\n      key: %q\n", e.URL, user, password, pki.CA, pki.ClientCert, pki.ClientKey))
	ops := []clientv3.Op{}
	for i, kv := 0, etcdRoute("web", "web.tls.etcd.test", a.URL); i < len(kv); i += 2 {
		ops = append(ops, clientv3.OpPut(kv[i], kv[i+1]))
	}
	if _, err := authed.Txn(ctx).Then(ops...).Commit(); err != nil {
		t.Fatalf("etcd txn: %v", err)
	}
	f.WaitRoute("web.tls.etcd.test", "/", http.StatusOK, "a")
}

// clientTLS is the client side of pki, for the test's own etcd client.
func (p testPKI) clientTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	data, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(data)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}
