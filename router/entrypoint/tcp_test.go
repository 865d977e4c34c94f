package entrypoint_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/entrypoint"
	"github.com/ferryproxy/ferry/router/proxyproto"
)

// echoBackend echoes every connection until the client half-closes.
func echoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
				_ = c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestListenerTCP(t *testing.T) {
	cert, err := router.DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	eps := []router.EntryPoint{{Name: "ep"}}
	sw := router.NewSwitcher(zap.NewNop(), router.SwitcherOptions{EntryPoints: eps, Transports: router.NewTransports(), DefaultCertificate: cert})
	echo := echoBackend(t)
	sw.Apply(router.Input{Config: &config.Config{TCP: config.TCP{
		Routers: map[string]*config.TCPRouter{
			"term": {Rule: "HostSNI(`term.test`)", Service: "echo", TLS: &config.TCPRouterTLS{}},
			"raw":  {Rule: "HostSNI(`*`)", Service: "echo"},
		},
		Services: map[string]*config.TCPService{"echo": {LoadBalancer: &config.TCPLoadBalancer{Servers: []config.TCPServer{{Address: echo}}}}},
	}}})
	if ps := sw.Table().Problems(); len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	l, err := entrypoint.Listen(zap.NewNop(), entrypoint.Options{Name: "ep", Address: "127.0.0.1:0", GraceTimeout: 300 * time.Millisecond,
		TCPRoutes: sw.TCPRoutes(0), ProxyProtocolTrustedIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		sw.Handler(0, false), sw.Handler(0, true), sw.GetCertificate)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	defer cancel()
	addr := l.Addr().String()

	roundTrip := func(t *testing.T, c net.Conn, msg string) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v", buf, err)
		}
	}
	t.Run("TLS termination", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "term.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, "over tls")
	})
	t.Run("other SNI goes to HTTP", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404 from HTTP routing", resp.StatusCode)
		}
	})
	t.Run("plain with a trusted PROXY header", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h := proxyproto.Header{Version: 2, Source: netip.MustParseAddrPort("192.0.2.1:1"), Destination: netip.MustParseAddrPort(addr)}
		b, _ := h.Append(nil)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "plain")
	})
	t.Run("shutdown closes forwarded connections after the grace time", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, "before shutdown")
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return")
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("connection still open after shutdown (read %d bytes)", n)
		}
	})
}
