package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/proxyproto"
)

// tcpDynamic is the dynamic configuration of TestTCP; extra is appended
// under http.routers (it changes on configuration swaps).
func tcpDynamic(httpURL, tlsBackend, echo, ppBackend, certPath, keyPath, extra string) string {
	return dyn(`
http:
  routers:
    api:
      rule: Host('api.test')
      entryPoints: [web]
      service: app
      tls: {}
%s
  services:
    app:
      loadBalancer:
        servers:
          - url: "%s"
tcp:
  routers:
    db:
      rule: HostSNI('db.test')
      entryPoints: [web]
      service: db
      tls:
        passthrough: true
    term:
      rule: HostSNI('term.test')
      entryPoints: [web]
      service: echo
      tls: {}
    raw:
      rule: HostSNI('*')
      entryPoints: [raw]
      service: echo
    pp:
      rule: HostSNI('*')
      entryPoints: [pp]
      service: pp
  services:
    db:
      loadBalancer:
        servers:
          - address: "%s"
    echo:
      loadBalancer:
        servers:
          - address: "127.0.0.1:1"
          - address: "%s"
    pp:
      loadBalancer:
        proxyProtocol:
          version: 2
        servers:
          - address: "%s"
tls:
  certificates:
    - certFile: %q
      keyFile: %q
`, extra, httpURL, tlsBackend, echo, ppBackend, certPath, keyPath)
}

func TestTCP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := StartBackend(t, "app", nil)
	ferryCert, certPath, keyPath := selfSigned(t, dir, "api.test", "term.test")
	dbX509, dbCertPath, dbKeyPath := selfSigned(t, dir, "db.test")
	dbCert, err := tls.LoadX509KeyPair(dbCertPath, dbKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	tlsBackend := startTLSBackend(t, dbCert)
	echo := startEchoServer(t)
	ppBackend := startProxyProtocolBackend(t)
	rawAddr, ppAddr := freeAddr(t), freeAddr(t)
	cfg := func(extra string) string {
		return tcpDynamic(app.URL, tlsBackend.Addr, echo.Addr, ppBackend.Addr, certPath, keyPath, extra)
	}
	f := startFerryWithEntryPoints(t, Options{Dynamic: cfg("")}, fmt.Sprintf(`  raw:
    address: %q
  pp:
    address: %q
    proxyProtocol:
      trustedIPs: ["127.0.0.2"]
`, rawAddr, ppAddr))
	f.WaitTCPRouters("db@file", "term@file", "raw@file", "pp@file")

	tlsDial := func(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
		t.Helper()
		d := &tls.Dialer{Config: cfg}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("TLS dial %s (SNI %s): %v", addr, cfg.ServerName, err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*tls.Conn)
	}

	t.Run("SNI db.test is passed through to the backend's own certificate", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(dbX509)
		c := tlsDial(t, f.Web, &tls.Config{ServerName: "db.test", RootCAs: roots})
		if got := c.ConnectionState().PeerCertificates[0]; !got.Equal(dbX509) {
			t.Fatalf("client saw certificate for %v, want the backend's own", got.DNSNames)
		}
		if line := readLine(t, c); line != "tls-backend db.test" {
			t.Fatalf("backend answered %q", line)
		}
	})

	t.Run("SNI api.test on the same port reaches the HTTP router", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(ferryCert)
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, f.Web)
			},
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Get("https://api.test/x")
		if err != nil {
			t.Fatalf("GET https://api.test/x: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "app" || resp.ProtoMajor != 2 {
			t.Fatalf("status %d from %q over %s", resp.StatusCode, resp.Header.Get("X-Backend"), resp.Proto)
		}
	})

	t.Run("TLS termination forwards plaintext", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(ferryCert)
		c := tlsDial(t, f.Web, &tls.Config{ServerName: "term.test", RootCAs: roots})
		if line := readLine(t, c); line+"\n" != echoGreeting {
			t.Fatalf("greeting %q", line)
		}
		if _, err := io.WriteString(c, "ping"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo through terminated TLS: %q, %v", buf, err)
		}
	})

	t.Run("raw TCP echoes 1 MiB both ways with half-close", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", rawAddr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The server speaks first: the entry point must not wait for the client.
		if line := readLine(t, c); line+"\n" != echoGreeting {
			t.Fatalf("greeting %q", line)
		}
		payload := make([]byte, 1<<20)
		_, _ = rand.Read(payload)
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(payload)
			if err == nil {
				err = c.(*net.TCPConn).CloseWrite()
			}
			werr <- err
		}()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		back, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read echo after %d bytes: %v", len(back), err)
		}
		if err := <-werr; err != nil {
			t.Fatalf("write: %v", err)
		}
		if !bytes.Equal(back, payload) {
			t.Fatalf("echo differs: got %d bytes, want %d", len(back), len(payload))
		}
	})

	t.Run("PROXY v2 towards the server carries the client address", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", ppAddr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "x"); err != nil { // an ordinary client speaks first
			t.Fatal(err)
		}
		if got, want := readLine(t, c), "v2 "+c.LocalAddr().String(); got != want {
			t.Fatalf("server saw %q, want %q", got, want)
		}
	})

	t.Run("PROXY header from a trusted peer gives the original client", func(t *testing.T) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: waitTimeout}
		c, err := d.Dial("tcp", ppAddr)
		if err != nil {
			t.Skipf("cannot bind 127.0.0.2: %v", err)
		}
		defer c.Close()
		h := proxyproto.Header{Version: 1, Source: mustAddrPort("198.51.100.7:4711"), Destination: mustAddrPort(ppAddr)}
		b, _ := h.Append(nil)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, c); got != "v2 198.51.100.7:4711" {
			t.Fatalf("server saw %q, want the address from the client's PROXY header", got)
		}
	})

	t.Run("PROXY header from an untrusted peer is rejected", func(t *testing.T) {
		mark := f.LogMark()
		c, err := net.DialTimeout("tcp", ppAddr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h := proxyproto.Header{Version: 2, Source: mustAddrPort("198.51.100.7:4711"), Destination: mustAddrPort(ppAddr)}
		b, _ := h.Append(nil)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if got, err := io.ReadAll(c); len(got) > 0 || err != nil {
			t.Fatalf("untrusted PROXY header: got %q, %v; want the connection closed", got, err)
		}
		f.WaitLog(mark, "about the refused PROXY header", func(l string) bool {
			return strings.Contains(l, "PROXY protocol header refused")
		})
	})

	t.Run("long-lived connection survives 20 configuration swaps", func(t *testing.T) {
		f := f.For(t)
		c, err := net.DialTimeout("tcp", rawAddr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		greeting := make([]byte, len(echoGreeting))
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := io.ReadFull(c, greeting); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			f.WriteDynamic(cfg(fmt.Sprintf(`    swap%d:
      rule: Host(`+"`swap%d.test`"+`)
      entryPoints: [web]
      service: app`, i, i)))
			f.waitHTTPRouter(fmt.Sprintf("swap%d@file", i))
			msg := fmt.Sprintf("message %02d", i)
			if _, err := io.WriteString(c, msg); err != nil {
				t.Fatalf("write after swap %d: %v", i+1, err)
			}
			buf := make([]byte, len(msg))
			_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
				t.Fatalf("after swap %d: echo %q, %v", i+1, buf, err)
			}
		}
	})
}

// waitHTTPRouter waits until the HTTP router name is in the live table.
func (f *Ferry) waitHTTPRouter(name string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if _, m := f.Routers(); m[name].Status == "enabled" {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("HTTP router %s not enabled within %s", name, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
