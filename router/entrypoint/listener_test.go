package entrypoint

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/ferryproxy/ferry/router/fault"
)

// seen is what the test handler saw of a request.
type seen struct {
	proto   string
	tls     bool
	secure  bool // served by the secure handler
	upgrade string
	bodyErr error
	body    int
}

// startListener serves h's view of every request on a new listener with
// opts, and returns its address and the requests' views.
func startListener(t *testing.T, opts Options) (string, <-chan seen) {
	t.Helper()
	views := make(chan seen, 64)
	handler := func(secure bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v := seen{proto: r.Proto, tls: r.TLS != nil, secure: secure, upgrade: r.Header.Get("Upgrade")}
			if r.URL.Path == "/hijack" {
				c, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
				_ = brw.Flush()
				go func() { _, _ = io.Copy(c, c); c.Close() }() // echo until the tunnel ends
				views <- v
				return
			}
			n, err := io.Copy(io.Discard, r.Body)
			v.body, v.bodyErr = int(n), err
			views <- v
			if err != nil {
				k := fault.Classify(r, err)
				w.WriteHeader(k.Status())
				return
			}
			_, _ = io.WriteString(w, "ok\n")
		}
	}
	opts.Name, opts.Address = "test", "127.0.0.1:0"
	if opts.GraceTimeout == 0 {
		opts.GraceTimeout = 200 * time.Millisecond
	}
	l, err := Listen(zap.NewNop(), opts, handler(false), handler(true), testCertificate(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String(), views
}

func testCertificate(t *testing.T) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, DNSNames: []string{"test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
}

// exchange writes req on a new connection (TLS when secure) and returns
// the first response, and whether the server closed the connection after it.
func exchange(t *testing.T, addr string, secure bool, req string) (*http.Response, bool) {
	t.Helper()
	var c net.Conn
	var err error
	if secure {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	return resp, err != nil && !isTimeout(err)
}

func TestProtocolStrictness(t *testing.T) {
	addr, views := startListener(t, Options{})
	tests := []struct {
		name      string
		req       string
		status    int
		closed    bool
		upgrade   string // what the handler sees
		reachesUp bool
	}{
		{"Content-Length and Transfer-Encoding: served, then closed",
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, true, "", true},
		{"chunked alone: kept open",
			"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, false, "", true},
		{"HTTP/1.0 with Transfer-Encoding: refused",
			"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400, true, "", false},
		{"Upgrade: h2c is removed",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", 200, false, "", true},
		{"Upgrade: websocket passes",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 200, false, "websocket", true},
		{"a header over maxHeaderBytes: 431",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", 431, true, "", false},
		{"a target over maxURLLength: 414",
			"GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, true, "", false},
	}
	for _, secure := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/tls=%v", tt.name, secure), func(t *testing.T) {
				resp, closed := exchange(t, addr, secure, tt.req)
				if resp.StatusCode != tt.status || closed != tt.closed {
					t.Fatalf("status %d, closed %v; want %d, %v", resp.StatusCode, closed, tt.status, tt.closed)
				}
				if !tt.reachesUp {
					return
				}
				v := <-views
				if v.upgrade != tt.upgrade || v.tls != secure || v.secure != secure {
					t.Fatalf("handler saw Upgrade %q, TLS %v, secure handler %v", v.upgrade, v.tls, v.secure)
				}
			})
		}
	}
}

func TestStalledBody(t *testing.T) {
	addr, views := startListener(t, Options{ReadTimeout: 300 * time.Millisecond})
	start := time.Now()
	resp, closed := exchange(t, addr, false, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nhalf")
	if resp.StatusCode != http.StatusRequestTimeout || !closed {
		t.Fatalf("status %d, closed %v; want 408, closed", resp.StatusCode, closed)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cut after %v", d)
	}
	v := <-views
	var be *fault.BodyError
	if !errors.As(v.bodyErr, &be) || v.body != 4 {
		t.Fatalf("handler read %d bytes, error %v; want 4 and a BodyError", v.body, v.bodyErr)
	}

	// A slow body that keeps moving is never cut.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n")
	for range 8 {
		time.Sleep(100 * time.Millisecond)
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("slow body: %v, %v", r, err)
	}
	if v := <-views; v.body != 8 || v.bodyErr != nil {
		t.Fatalf("slow body: read %d, %v", v.body, v.bodyErr)
	}
}

func TestTLSProtocols(t *testing.T) {
	addr, views := startListener(t, Options{})
	for _, proto := range []string{"h2", "http/1.1"} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{proto}},
			ForceAttemptHTTP2: proto == "h2"}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		v := <-views
		if want := map[string]string{"h2": "HTTP/2.0", "http/1.1": "HTTP/1.1"}[proto]; v.proto != want || !v.tls || !v.secure {
			t.Fatalf("ALPN %s: handler saw %s, TLS %v, secure %v", proto, v.proto, v.tls, v.secure)
		}
	}
}

func TestTunnelIdle(t *testing.T) {
	addr, views := startListener(t, Options{IdleTimeout: 400 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v, %v", resp, err)
	}
	<-views
	// Traffic every 200 ms keeps the tunnel: 1.2 s in all, 3 idle timeouts.
	for i := range 6 {
		time.Sleep(200 * time.Millisecond)
		msg := fmt.Sprintf("m%d", i)
		_, _ = io.WriteString(c, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d: %q, %v", i, buf, err)
		}
	}
	// Then silence: closed after the idle timeout.
	start := time.Now()
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("tunnel still open after %v: %v", time.Since(start), err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, want about 400ms", d)
	}
}

func TestMaxConnections(t *testing.T) {
	addr, views := startListener(t, Options{MaxConnections: 1})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(first, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r, err := http.ReadResponse(bufio.NewReader(first), nil); err != nil || r.StatusCode != 200 {
		t.Fatalf("first: %v, %v", r, err)
	}
	<-views
	second, err := net.Dial("tcp", addr) // completes in the kernel's queue
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, _ = io.WriteString(second, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(second)
	_ = second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.ReadByte(); !isTimeout(err) {
		t.Fatalf("second connection served while the first holds the only slot: %v", err)
	}
	first.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r, err := http.ReadResponse(br, nil); err != nil || r.StatusCode != 200 {
		t.Fatalf("second after the first closed: %v, %v", r, err)
	}
	<-views
}

func TestRapidResetClosesTheConnection(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) { testRapidReset(t, secure) })
	}
}

func testRapidReset(t *testing.T, secure bool) {
	addr, views := startListener(t, Options{})
	go func() { // drain the views of the streams that reached the handler
		for range views {
		}
	}()
	var c net.Conn
	var err error
	if secure {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	} else {
		c, err = net.Dial("tcp", addr) // h2c with prior knowledge
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
		}
	}()
	sent := 0
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		id := uint32(2*i + 1)
		// A stream with a body to come: its handler starts and waits for it.
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			break
		}
		if i%10 == 9 {
			time.Sleep(time.Millisecond) // let handlers start
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
		select {
		case <-closed:
			i = 5000
		default:
		}
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("connection still open after %d streams opened and reset", sent)
	}
	if sent >= 5000 {
		t.Fatalf("all %d streams were accepted before the connection was closed", sent)
	}
	// Other clients are served.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	scheme := "https://"
	if !secure {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
		scheme = "http://"
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(scheme + addr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the attack: %v, %v", resp, err)
	}
	resp.Body.Close()
}
