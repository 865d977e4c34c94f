package tcp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
)

// testCert returns a self-signed certificate for name.
func testCert(t testing.TB, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// recordHello returns the bytes a TLS client sends first.
func recordHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	go func() { _ = tls.Client(c, cfg).Handshake(); c.Close() }()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, _ := io.ReadAtLeast(s, buf, 5)
	s.Close()
	return buf[:n]
}

func TestPeekClientHello(t *testing.T) {
	tests := []struct {
		name     string
		sni      string
		protos   []string
		wantSNI  string
		maxVer   uint16
		noFinish bool
	}{
		{name: "SNI and ALPN", sni: "db.test", protos: []string{"postgresql", "h2"}, wantSNI: "db.test"},
		{name: "upper-case SNI", sni: "DB.Test", wantSNI: "db.test"},
		{name: "no SNI", sni: "", wantSNI: ""},
		{name: "TLS 1.2 client", sni: "old.test", wantSNI: "old.test", maxVer: tls.VersionTLS12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := testCert(t, "db.test")
			client, server := net.Pipe()
			defer client.Close()
			got := make(chan string, 1)
			go func() {
				tc := tls.Client(client, &tls.Config{ServerName: tt.sni, NextProtos: tt.protos, InsecureSkipVerify: true,
					MaxVersion: tt.maxVer})
				if err := tc.Handshake(); err != nil {
					got <- "handshake: " + err.Error()
					return
				}
				_, _ = tc.Write([]byte("ping"))
				got <- "ok"
			}()
			hello, replay, err := PeekClientHello(server, 5*time.Second)
			if err != nil {
				t.Fatalf("PeekClientHello: %v", err)
			}
			if hello.ServerName != tt.wantSNI || !slices.Equal(hello.Protos, tt.protos) {
				t.Errorf("hello = %+v, want SNI %q ALPN %v", hello, tt.wantSNI, tt.protos)
			}
			// The replayed bytes must let a real TLS server complete the handshake.
			ts := tls.Server(replay, &tls.Config{Certificates: []tls.Certificate{cert}})
			buf := make([]byte, 4)
			if _, err := io.ReadFull(ts, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("TLS over the replayed connection: %q, %v", buf, err)
			}
			if s := <-got; s != "ok" {
				t.Fatal(s)
			}
		})
	}
}

func TestParseClientHelloRejects(t *testing.T) {
	hello := recordHello(t, &tls.Config{ServerName: "a.test", InsecureSkipVerify: true})
	tests := map[string][]byte{
		"HTTP":            []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
		"empty":           nil,
		"truncated":       hello[:len(hello)/2],
		"bad record type": append([]byte{0x17}, hello[1:]...),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if h, err := ParseClientHello(bytes.NewReader(in)); err == nil {
				t.Fatalf("ParseClientHello accepted %q: %+v", in, h)
			}
		})
	}
}

func TestPeekClientHelloTimeout(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() { _, _ = client.Write([]byte{0x16, 0x03}) }() // then silence
	start := time.Now()
	_, replay, err := PeekClientHello(server, 200*time.Millisecond)
	if err == nil {
		t.Fatal("no error for a stalled ClientHello")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %s", d)
	}
	buf := make([]byte, 2)
	_ = replay.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := io.ReadFull(replay, buf); n != 2 || buf[0] != 0x16 {
		t.Errorf("replay lost the bytes read: %q", buf[:n])
	}
}

func FuzzParseClientHello(f *testing.F) {
	f.Add(recordHello(f, &tls.Config{ServerName: "db.test", NextProtos: []string{"h2"}, InsecureSkipVerify: true}))
	f.Add(recordHello(f, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}))
	f.Add([]byte("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		type result struct {
			h   *Hello
			err error
		}
		done := make(chan result, 1)
		go func() {
			h, err := ParseClientHello(bytes.NewReader(in))
			done <- result{h, err}
		}()
		var h *Hello
		var err error
		select {
		case r := <-done:
			h, err = r.h, r.err
		case <-time.After(5 * time.Second):
			t.Fatalf("ParseClientHello(%q) does not return", in)
		}
		if err == nil && h == nil {
			t.Fatal("nil hello without error")
		}
		if err == nil && len(in) < 5 {
			t.Fatalf("hello from %d bytes", len(in))
		}
	})
}
