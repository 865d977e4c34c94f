package ocsp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	xocsp "golang.org/x/crypto/ocsp"
)

// testPKI makes a CA and a leaf naming responder; the leaf's
// tls.Certificate holds the CA after it when withIssuer.
func testPKI(t *testing.T, responder string, withIssuer bool) (*tls.Certificate, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), DNSNames: []string{"a.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if responder != "" {
		tmpl.OCSPServer = []string{responder}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	if withIssuer {
		c.Certificate = append(c.Certificate, caDER)
	}
	return c, ca, caKey
}

func TestStapler(t *testing.T) {
	var status atomic.Int32 // xocsp.Good
	var ca *x509.Certificate
	var caKey *ecdsa.PrivateKey
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := xocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		der, _ := xocsp.CreateResponse(ca, ca, xocsp.Response{Status: int(status.Load()), SerialNumber: req.SerialNumber,
			ThisUpdate: now, NextUpdate: now.Add(time.Hour), RevokedAt: now}, caKey)
		_, _ = w.Write(der)
	}))
	defer srv.Close()
	cert, ca0, caKey0 := testPKI(t, srv.URL, true)
	ca, caKey = ca0, caKey0
	noResponder, _, _ := testPKI(t, "", true)
	noIssuer, _, _ := testPKI(t, srv.URL, false)

	s := New(zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	s.Track([]*tls.Certificate{cert, noResponder, noIssuer})
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Staple(cert).OCSPStaple) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no staple: %+v", s.Statuses())
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := Describe(s.Staple(cert))
	if got.State != StateGood || !got.Stapled || got.NextUpdate == nil {
		t.Errorf("Describe: %+v", got)
	}
	if s.Staple(noResponder) != noResponder || s.Staple(noIssuer) != noIssuer {
		t.Error("certificates that cannot be stapled changed")
	}
	states := map[string]int{}
	for _, st := range s.Statuses() {
		states[st.State]++
	}
	if states[StateGood] != 1 || states[StateNone] != 2 {
		t.Errorf("statuses %+v", s.Statuses())
	}

	// Forgotten certificates lose their staple; a revoked answer is not
	// stapled.
	s.Track(nil)
	if s.Staple(cert) != cert {
		t.Error("untracked certificate still stapled")
	}
	status.Store(xocsp.Revoked)
	s.Track([]*tls.Certificate{cert})
	deadline = time.Now().Add(5 * time.Second)
	for st := s.Statuses(); len(st) != 1 || st[0].State != StateRevoked; st = s.Statuses() {
		if time.Now().After(deadline) {
			t.Fatalf("statuses %+v, want revoked", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(s.Staple(cert).OCSPStaple) != 0 {
		t.Error("revoked response stapled")
	}
}

func TestNilStapler(t *testing.T) {
	var s *Stapler
	c := &tls.Certificate{}
	s.Track([]*tls.Certificate{c})
	if s.Staple(c) != c || s.Statuses() != nil {
		t.Fatal("a nil stapler must do nothing")
	}
}

func TestRefreshIn(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		this, next time.Time
		want       time.Duration
	}{
		{now, now.Add(4 * time.Hour), 2 * time.Hour},
		{now, now.Add(30 * time.Second), minRefresh},
		{now, now.Add(7 * 24 * time.Hour), maxRefresh},
		{now, time.Time{}, noNextUpdate},
	} {
		if got := refreshIn(&xocsp.Response{ThisUpdate: tt.this, NextUpdate: tt.next}, now); got != tt.want {
			t.Errorf("refreshIn(%s) = %s, want %s", tt.next.Sub(tt.this), got, tt.want)
		}
	}
}
