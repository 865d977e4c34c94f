package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// edgeBackend counts what reaches it: requests, Upgrade headers, and its
// open connections.
type edgeBackend struct {
	URL      string
	hits     atomic.Int64
	upgrades atomic.Int64
	open     atomic.Int64
}

func startEdgeBackend(t *testing.T) *edgeBackend {
	t.Helper()
	b := &edgeBackend{}
	ln, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			if r.Header.Get("Upgrade") != "" {
				b.upgrades.Add(1)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, "ok\n")
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				b.open.Add(1)
			case http.StateClosed, http.StateHijacked:
				b.open.Add(-1)
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	b.URL = "http://" + ln.Addr().String()
	return b
}

// rawExchange sends req on a new connection to addr and returns the
// response's status (0 when none came) and whether the server closed the
// connection after it.
func rawExchange(t *testing.T, addr, req string, wait time.Duration) (status int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	_, _ = io.WriteString(c, req)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, true
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	var ne net.Error
	return resp.StatusCode, err != nil && !(asNetError(err, &ne) && ne.Timeout())
}

func asNetError(err error, ne *net.Error) bool {
	v, ok := err.(net.Error)
	if ok {
		*ne = v
	}
	return ok
}

// startEdgeFerry runs Ferry with an entry point "edge" whose readTimeout is
// readTimeout, routing edge.test to backend through a passive health check
// and a circuit breaker. It returns Ferry and the edge entry point's address.
func startEdgeFerry(t *testing.T, backend string, readTimeout string) (*Ferry, string) {
	t.Helper()
	edge := reservedAddr(t, false)
	f := StartFerry(t, Options{LogLevel: "debug", EntryPoints: fmt.Sprintf(`  edge:
    address: %q
    transport:
      respondingTimeouts:
        readTimeout: %s
`, edge, readTimeout), Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('edge.test')"
      service: app
      middlewares: [breaker]
  middlewares:
    breaker:
      circuitBreaker:
        expression: "NetworkErrorRatio() > 0.10 || ResponseCodeRatio(400, 600, 0, 600) > 0.10"
        checkPeriod: 100ms
  services:
    app:
      loadBalancer:
        passiveHealthCheck:
          maxFailedAttempts: 1
          connectionErrorsOnly: true
        servers:
          - url: %q
`, backend)})
	f.WaitRoute("edge.test", "/", http.StatusOK, "")
	return f, edge
}

func TestEdgeClientFaultsNeverCountAgainstTheServer(t *testing.T) {
	t.Parallel()
	b := startEdgeBackend(t)
	f, edge := startEdgeFerry(t, b.URL, "1s")

	// Legitimate clients keep going the whole time.
	stop := make(chan struct{})
	var good, bad atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := f.Do(http.MethodGet, "edge.test", "/", nil)
				if err == nil && res.Status == http.StatusOK {
					good.Add(1)
				} else {
					bad.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	hostile := map[string]struct {
		req    string
		status int
	}{
		"malformed chunk size": {"POST / HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", http.StatusBadRequest},
		"chunk cut short":      {"POST / HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n", http.StatusBadRequest},
	}
	for name, h := range hostile {
		for i := range 20 {
			if status, closed := rawExchange(t, edge, h.req, 5*time.Second); status != h.status || !closed {
				t.Fatalf("%s #%d: status %d, closed %v; want %d and closed", name, i, status, closed, h.status)
			}
		}
	}
	// Bodies abandoned halfway: the client goes away.
	for range 20 {
		c, err := net.Dial("tcp", edge)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 1000\r\n\r\nhalf")
		time.Sleep(10 * time.Millisecond)
		c.Close()
	}
	// A client that half-closes after half its body is told its request
	// was incomplete (400), and the connection is closed.
	c, err := net.Dial("tcp", edge)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 1000\r\n\r\nhalf")
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 400 ") {
		t.Fatalf("half-closed client got %q, %v; want 400 and the connection closed", got, err)
	}
	c.Close()
	time.Sleep(300 * time.Millisecond) // several breaker check periods
	close(stop)
	wg.Wait()
	if bad.Load() > 0 || good.Load() < 10 {
		t.Fatalf("legitimate clients: %d ok, %d failed during the hostile requests", good.Load(), bad.Load())
	}
	if s := f.lbService("app@file"); s.ServerStatus[b.URL] != "UP" {
		t.Fatalf("server %s after 60 hostile requests, want UP (%+v)", s.ServerStatus[b.URL], s.ServerHealth[b.URL])
	}
	if res := f.Get("edge.test", "/"); res.Status != http.StatusOK {
		t.Fatalf("after the hostile requests: %d", res.Status)
	}
	if strings.Contains(f.Logs(), "circuit breaker open") || strings.Contains(f.Logs(), "server ejected") {
		t.Fatal("a client's fault tripped the breaker or ejected the server")
	}
}

func TestEdgeStalledBodyIsCutAndReleasesTheUpstream(t *testing.T) {
	t.Parallel()
	b := startEdgeBackend(t)
	_, edge := startEdgeFerry(t, b.URL, "1s")
	time.Sleep(200 * time.Millisecond)
	before := b.open.Load() // the keep-alive connection of WaitRoute

	c, err := net.Dial("tcp", edge)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 1000\r\n\r\nhalf of it")
	// The request's upstream connection opens while the body streams.
	deadline := time.Now().Add(5 * time.Second)
	for b.open.Load() <= before && b.hits.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body answered %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stalled body cut after %v, want about the 1s readTimeout", d)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection kept open after a 408")
	}
	// The upstream connection that carried the half body is closed.
	deadline = time.Now().Add(5 * time.Second)
	for b.open.Load() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := b.open.Load(); n > before {
		t.Fatalf("upstream holds %d connections after the stalled request ended, %d before", n, before)
	}
}

func TestEdgeProtocolStrictness(t *testing.T) {
	t.Parallel()
	b := startEdgeBackend(t)
	_, edge := startEdgeFerry(t, b.URL, "5s")
	tests := []struct {
		name   string
		req    string
		status int
		closed bool
	}{
		{"Content-Length with Transfer-Encoding is closed after the response",
			"POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, true},
		{"a 40 KB header is refused", "GET / HTTP/1.1\r\nHost: edge.test\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", 431, true},
		{"HTTP/1.0 with Transfer-Encoding is refused",
			"POST / HTTP/1.0\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, true},
		{"Upgrade: h2c is served without it",
			"GET / HTTP/1.1\r\nHost: edge.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, closed := rawExchange(t, edge, tt.req, 5*time.Second); status != tt.status || closed != tt.closed {
				t.Fatalf("status %d, closed %v; want %d, %v", status, closed, tt.status, tt.closed)
			}
		})
	}
	if n := b.upgrades.Load(); n != 0 {
		t.Fatalf("%d request(s) reached the upstream with an Upgrade header", n)
	}
}
