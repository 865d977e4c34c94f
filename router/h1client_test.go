package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts the connections it
// accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func h1Get(t *testing.T, c *h1Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, string(b)
}

func testH1Client() *h1Client {
	return newH1Client(&http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute})
}

// TestH1ClientReusesConnections: fixed-length, chunked, HEAD and 204
// answers all give their connection back; Connection: close does not.
func TestH1ClientReusesConnections(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		default:
			w.Header().Set("X-Method", r.Method)
			w.Write([]byte("hello " + r.Host))
		}
	})
	c := testH1Client()
	defer c.CloseIdleConnections()
	for i := range 3 {
		if _, body := h1Get(t, c, "GET", srv.URL+"/"); !strings.HasPrefix(body, "hello 127.0.0.1") {
			t.Fatalf("GET %d: %q", i, body)
		}
	}
	if resp, body := h1Get(t, c, "GET", srv.URL+"/chunked"); body != "part one part two" || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("chunked: %q %v", body, resp.TransferEncoding)
	}
	if resp, body := h1Get(t, c, "HEAD", srv.URL+"/"); body != "" || resp.Header.Get("X-Method") != "HEAD" {
		t.Fatalf("HEAD: %q %v", body, resp.Header)
	}
	if resp, _ := h1Get(t, c, "GET", srv.URL+"/empty"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("204: %d", resp.StatusCode)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for six sequential requests, want 1", n)
	}
	h1Get(t, c, "GET", srv.URL+"/close")
	h1Get(t, c, "GET", srv.URL+"/")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after an answer with Connection: close, want 2", n)
	}
}

// TestH1ClientRetriesStaleConnection: a pooled connection the server closed
// while it was idle is replaced for a GET, once, without an error.
func TestH1ClientRetriesStaleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n%02d", n)
				// The first connection closes once it answered, as a server
				// ending an idle keep-alive connection; the next stay open.
				if n > 1 {
					_, _ = http.ReadRequest(br)
				}
			}()
		}
	}()
	c := testH1Client()
	defer c.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/"
	if _, body := h1Get(t, c, "GET", url); body != "01" {
		t.Fatalf("first: %q", body)
	}
	time.Sleep(50 * time.Millisecond) // the server's close reaches the pooled connection
	if _, body := h1Get(t, c, "GET", url); body != "02" {
		t.Fatalf("after the server closed the pooled connection: %q, want an answer on a new one", body)
	}
	// A POST is not sent twice: its error is the client's to see.
	req, _ := http.NewRequest("POST", url, http.NoBody)
	c.mu.Lock()
	stale := len(c.idle[ln.Addr().String()])
	c.mu.Unlock()
	if stale != 1 {
		t.Fatalf("%d idle connections, want 1", stale)
	}
	// The second connection reads the POST and closes without an answer.
	if resp, err := c.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a POST whose connection closed without an answer succeeded")
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections: the POST was sent again", n)
	}
}

// TestH1ClientCancelAndTimeout: a request whose context ends, or whose
// answer's headers take longer than ResponseHeaderTimeout, fails at once
// and its connection is not pooled.
func TestH1ClientCancelAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := newH1Client(&http.Transport{MaxIdleConnsPerHost: 4, ResponseHeaderTimeout: 100 * time.Millisecond})
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	start := time.Now()
	var ne net.Error
	if _, err := c.RoundTrip(req); err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("slow headers: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the timeout took %s", d)
	}
	// A slow answer on a pooled connection is not asked again on another.
	fast, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
	})
	h1Get(t, c, "GET", fast.URL+"/")
	req, _ = http.NewRequest("GET", fast.URL+"/slow", nil)
	if _, err := c.RoundTrip(req); err == nil {
		t.Fatal("slow headers on a pooled connection: no error")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections: the timed-out request was sent again", n)
	}
	c.headerTimeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	if _, err := c.RoundTrip(req); err == nil {
		t.Fatal("a cancelled request got an answer")
	}
	c.mu.Lock()
	idle := len(c.idle)
	c.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d pooled connections after failures, want 0", idle)
	}
}

// TestH1ClientFallback: requests with a body, an upgrade or Expect, and
// https, go to net/http's Transport.
func TestH1ClientFallback(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  func() *http.Request
	}{
		{"body", func() *http.Request {
			r, _ := http.NewRequest("POST", "http://a.test/", strings.NewReader("x"))
			return r
		}},
		{"upgrade", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://a.test/", nil)
			r.Header.Set("Upgrade", "websocket")
			return r
		}},
		{"expect", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://a.test/", nil)
			r.Header.Set("Expect", "100-continue")
			return r
		}},
		{"https", func() *http.Request {
			r, _ := http.NewRequest("GET", "https://a.test/", nil)
			return r
		}},
	} {
		if eligible(tt.req()) {
			t.Errorf("%s: sent on the handler's goroutine, want net/http's Transport", tt.name)
		}
	}
	r, _ := http.NewRequest("GET", "http://a.test/", nil)
	if !eligible(r) {
		t.Error("a plain GET goes to net/http's Transport")
	}
}

// TestH1ClientUnsolicitedBytes: bytes a server sends after the length it
// announced are never taken for the next request's answer.
func TestH1ClientUnsolicitedBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged%s", req.URL.Path)
				}
			}()
		}
	}()
	c := testH1Client()
	defer c.CloseIdleConnections()
	for i := range 2 {
		if _, body := h1Get(t, c, "GET", "http://"+ln.Addr().String()+"/"); body != "ok" {
			t.Fatalf("request %d: %q, want ok", i, body)
		}
	}
}

// TestH1ClientIdleTimeout: a pooled connection left idle for
// IdleConnTimeout is closed, so a server that went away leaves no
// descriptor behind; one reused in time stays.
func TestH1ClientIdleTimeout(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	c := newH1Client(&http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 150 * time.Millisecond})
	defer c.CloseIdleConnections()
	h1Get(t, c, "GET", srv.URL+"/")
	time.Sleep(50 * time.Millisecond)
	h1Get(t, c, "GET", srv.URL+"/")
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the pooled one reused", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.idle)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle connection is still pooled after its idle timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h1Get(t, c, "GET", srv.URL+"/")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after the idle timeout, want a new one", n)
	}
}
