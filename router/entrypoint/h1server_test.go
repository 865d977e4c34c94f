package entrypoint

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// serveH1 serves h with an h1Server on a new loopback listener.
func serveH1(t *testing.T, opts Options, h http.Handler) (string, *h1Server) {
	t.Helper()
	opts.defaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newH1Server(&opts, zap.NewNop(), h, nil)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(&httpConn{Conn: &clientConn{Conn: c}})
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); s.Close() })
	return ln.Addr().String(), s
}

// serveStd serves h with net/http's server on a new loopback listener.
func serveStd(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, MaxHeaderBytes: DefaultMaxHeaderBytes, ErrorLog: nil}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// exchange sends raw on a new connection to addr and returns what came
// back as the responses a client would read, one line per response plus
// whether the connection was closed after them.
func rawExchange(t *testing.T, addr, raw string, methods []string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for _, m := range methods {
		res, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			out = append(out, "error: "+strings.SplitN(err.Error(), ":", 2)[0])
			break
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			out = append(out, "body error: "+err.Error())
			break
		}
		out = append(out, describe(res, body))
		if res.Close {
			break
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.ReadByte(); err == io.EOF {
		out = append(out, "closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		out = append(out, "open")
	} else {
		out = append(out, fmt.Sprintf("after: %v", err))
	}
	return strings.Join(out, "\n")
}

// describe is a response as compared between the servers: everything but
// its Date and the order of its headers.
func describe(res *http.Response, body []byte) string {
	var keys []string
	for k, vv := range res.Header {
		if k != "Date" {
			keys = append(keys, k+"="+strings.Join(vv, ","))
		}
	}
	slices.Sort(keys)
	var trailers []string
	for k, vv := range res.Trailer {
		trailers = append(trailers, k+"="+strings.Join(vv, ","))
	}
	slices.Sort(trailers)
	_, hasDate := res.Header["Date"]
	b := fmt.Sprintf("%q", body)
	if len(body) > 100 {
		b = fmt.Sprintf("%d bytes %q...", len(body), body[:20])
	}
	return fmt.Sprintf("%s %d cl=%d te=%v close=%v date=%v headers=%v trailers=%v body=%s",
		res.Proto, res.StatusCode, res.ContentLength, res.TransferEncoding, res.Close, hasDate, keys, trailers, b)
}

// TestH1ServerMatchesNetHTTP sends the same bytes to net/http's server and
// to the entry point's HTTP/1 server, with the same handler, and expects
// the same answers: framing, headers, trailers, informational responses,
// keep-alive and refusals.
func TestH1ServerMatchesNetHTTP(t *testing.T) {
	big := strings.Repeat("x", 10<<10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, "hello\n")
		case "/html":
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		case "/typed":
			h.Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"a":1}`)
		case "/big":
			_, _ = io.WriteString(w, big)
		case "/length":
			h.Set("Content-Length", "5")
			_, _ = io.WriteString(w, "12345")
		case "/short":
			h.Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
		case "/empty":
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			_, _ = io.WriteString(w, "ignored")
		case "/notmodified":
			h.Set("Content-Type", "text/plain")
			h.Set("Content-Length", "5")
			h.Set("Etag", `"x"`)
			w.WriteHeader(http.StatusNotModified)
		case "/status":
			w.WriteHeader(299)
			_, _ = io.WriteString(w, "odd")
		case "/flush":
			_, _ = io.WriteString(w, "first ")
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "second")
		case "/trailers":
			h.Set("Trailer", "X-Sum, X-Other")
			h.Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "data")
			h.Set("X-Sum", "42")
			h.Set(http.TrailerPrefix+"X-Late", "yes")
		case "/hints":
			h.Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			_, _ = io.WriteString(w, "after hints")
		case "/later":
			h.Set("X-Before", "1")
			w.WriteHeader(http.StatusAccepted)
			h.Set("X-After", "2") // after WriteHeader: not sent
			_, _ = io.WriteString(w, "accepted")
		case "/close":
			h.Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/echo":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = fmt.Fprintf(w, "%s %d %q", r.Method, len(b), r.Host)
		case "/unread":
			_, _ = io.WriteString(w, "did not read")
		case "/split":
			h.Set("X-Bad", "a\r\nInjected: yes")
			_, _ = io.WriteString(w, "split")
		default:
			http.NotFound(w, r)
		}
	})
	h1, _ := serveH1(t, Options{}, handler)
	std := serveStd(t, handler)

	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: a.test\r\n\r\n" }
	long := strings.Repeat("y", 300<<10)
	cases := []struct {
		name, raw string
		methods   []string
	}{
		{"small", get("/small"), []string{"GET"}},
		{"sniffed", get("/html"), []string{"GET"}},
		{"typed", get("/typed"), []string{"GET"}},
		{"chunked", get("/big"), []string{"GET"}},
		{"declared length", get("/length"), []string{"GET"}},
		{"short of its length", get("/short"), []string{"GET"}},
		{"empty", get("/empty"), []string{"GET"}},
		{"204", get("/nocontent"), []string{"GET"}},
		{"304", get("/notmodified"), []string{"GET"}},
		{"unknown status", get("/status"), []string{"GET"}},
		{"flush", get("/flush"), []string{"GET"}},
		{"trailers", get("/trailers"), []string{"GET"}},
		{"103", get("/hints"), []string{"GET", "GET"}},
		{"after WriteHeader", get("/later"), []string{"GET"}},
		{"handler closes", get("/close"), []string{"GET"}},
		{"split attempt", get("/split"), []string{"GET"}},
		{"head small", "HEAD /small HTTP/1.1\r\nHost: a.test\r\n\r\n", []string{"HEAD"}},
		{"head big", "HEAD /big HTTP/1.1\r\nHost: a.test\r\n\r\n", []string{"HEAD"}},
		{"head length", "HEAD /length HTTP/1.1\r\nHost: a.test\r\n\r\n", []string{"HEAD"}},
		{"pipelined", get("/small") + get("/big") + get("/length"), []string{"GET", "GET", "GET"}},
		{"client closes", "GET /small HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", []string{"GET"}},
		{"http/1.0", "GET /small HTTP/1.0\r\n\r\n", []string{"GET"}},
		{"http/1.0 keep-alive", "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET"}},
		{"http/1.0 keep-alive big", "GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET"}},
		{"http/1.0 keep-alive length", "GET /length HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET"}},
		{"post", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello" + get("/small"), []string{"POST", "GET"}},
		{"post chunked", "POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + get("/small"), []string{"POST", "GET"}},
		{"unread body", "POST /unread HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello" + get("/small"), []string{"POST", "GET"}},
		{"unread long body", "POST /unread HTTP/1.1\r\nHost: a.test\r\nContent-Length: " + fmt.Sprint(len(long)) + "\r\n\r\n" + long, []string{"POST", "GET"}},
		{"expect continue", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", []string{"POST", "POST"}},
		{"unknown expectation", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: something\r\n\r\nhello", []string{"POST"}},
		{"no host", "GET /small HTTP/1.1\r\n\r\n", []string{"GET"}},
		{"two hosts", "GET /small HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []string{"GET"}},
		{"bad host", "GET /small HTTP/1.1\r\nHost: a b\r\n\r\n", []string{"GET"}},
		{"bad header name", "GET /small HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", []string{"GET"}},
		{"bad request line", "GET /small\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"bad version", "GET /small HTTP/3.0\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"unknown coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", []string{"POST"}},
		{"bad chunk", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []string{"POST"}},
		{"headers too large", "GET /small HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("z", 40<<10) + "\r\n\r\n", []string{"GET"}},
		{"absolute form", "GET http://b.test/echo HTTP/1.1\r\nHost: a.test\r\n\r\n", []string{"GET"}},
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", []string{"OPTIONS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := rawExchange(t, std, tc.raw, tc.methods)
			got := rawExchange(t, h1, tc.raw, tc.methods)
			if got != want {
				t.Errorf("request %q\n got: %s\nwant: %s", truncate(tc.raw), got, want)
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// TestH1ServerIdleHoldsNoBuffers checks that a keep-alive connection
// idle for parkAfter holds neither its reader nor its writer.
func TestH1ServerIdleHoldsNoBuffers(t *testing.T) {
	addr, s := serveH1(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for range 3 {
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		var idle, buffers int
		for hc := range s.conns {
			if hc.state.Load() == stateIdle && hc.parked.Load() {
				idle++
				if hc.bufs != nil || hc.br != nil || hc.bw != nil {
					buffers++
				}
			}
		}
		s.mu.Unlock()
		if idle == 1 && buffers == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle connections %d, holding buffers %d", idle, buffers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestH1ServerParkedConnection checks that a connection idle for longer
// than parkAfter still serves its next request, and still closes after
// the idle timeout.
func TestH1ServerParkedConnection(t *testing.T) {
	addr, s := serveH1(t, Options{IdleTimeout: 2 * parkAfter}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) {
		t.Helper()
		_, _ = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != path {
			t.Fatalf("got %q, want %q", b, path)
		}
	}
	get("/first")
	time.Sleep(parkAfter + parkAfter/2) // parked, within the idle timeout
	parked := false
	s.mu.Lock()
	for hc := range s.conns {
		parked = parked || hc.parked.Load()
	}
	s.mu.Unlock()
	if !parked {
		t.Fatal("the connection was not parked")
	}
	get("/after-park")
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("read %v, want the connection closed by the idle timeout", err)
	}
	if d := time.Since(start); d < 2*parkAfter-50*time.Millisecond || d > 2*time.Second {
		t.Fatalf("closed after %v, idle timeout %v", d, 2*parkAfter)
	}
}

// TestH1ServerExpectContinueUnread checks that a request whose handler
// never reads the body it was to be asked for gets no 100 Continue, an
// answer with Connection: close, and a closed connection at once.
func TestH1ServerExpectContinueUnread(t *testing.T) {
	addr, _ := serveH1(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	got := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", []string{"POST"})
	if !strings.HasPrefix(got, "HTTP/1.1 403") || !strings.Contains(got, "close=true") || !strings.HasSuffix(got, "closed") {
		t.Fatalf("got %s", got)
	}
}

// TestH1ServerClientGoneCancels checks that a client closing its
// connection while its request is served cancels the request's context.
func TestH1ServerClientGoneCancels(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	addr, _ := serveH1(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			canceled <- time.Since(start)
		case <-time.After(5 * time.Second):
			canceled <- -1
		}
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	_ = c.Close()
	if d := <-canceled; d < 0 {
		t.Fatal("the request's context was not cancelled when its client left")
	}
}

// TestH1ServerPipelinedDuringSlowRequest checks that a request pipelined
// behind a slow one is served after it, not mistaken for the client going
// away.
func TestH1ServerPipelinedDuringSlowRequest(t *testing.T) {
	addr, _ := serveH1(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
				w.WriteHeader(499)
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	got := rawExchange(t, addr, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET", "GET"})
	if !strings.Contains(got, `body="/slow"`) || !strings.Contains(got, `body="/next"`) || !strings.HasSuffix(got, "open") {
		t.Fatalf("got %s", got)
	}
}

// TestH1ServerShutdown checks that Shutdown closes idle connections at
// once and lets a busy one finish its response, with Connection: close.
func TestH1ServerShutdown(t *testing.T) {
	release := make(chan struct{})
	addr, s := serveH1(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" {
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}))
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_, _ = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ibr := bufio.NewReader(idle)
	if res, err := http.ReadResponse(ibr, nil); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, _ = io.WriteString(busy, "GET /busy HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(50 * time.Millisecond)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want it closed", err)
	}
	select {
	case err := <-done:
		t.Fatalf("shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	_ = busy.SetReadDeadline(time.Now().Add(2 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Close {
		t.Error("the last response during shutdown did not say Connection: close")
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// BenchmarkH1Server measures a keep-alive request and its short answer
// through the entry point's HTTP/1 server, over loopback.
func BenchmarkH1Server(b *testing.B) {
	opts := Options{}
	opts.defaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	s := newH1Server(&opts, zap.NewNop(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		_, _ = io.WriteString(w, "hello, world\n")
	}), nil)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(&httpConn{Conn: &clientConn{Conn: c}})
		}
	}()
	benchRequests(b, ln.Addr().String())
}

// BenchmarkNetHTTPServer is BenchmarkH1Server with net/http's server, for
// comparison.
func BenchmarkNetHTTPServer(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		_, _ = io.WriteString(w, "hello, world\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	benchRequests(b, ln.Addr().String())
}

// TestServerErrorLogLevels checks that net/http's reports of a client's
// broken HTTP/2 connection are logged at debug level, the rest at warn.
func TestServerErrorLogLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := serverErrorLog(zap.New(core))
	l.Printf("http2: server connection error from 127.0.0.1:1234: connection error: COMPRESSION_ERROR")
	l.Printf("http: panic serving 127.0.0.1:1234: boom")
	got := logs.All()
	if len(got) != 2 || got[0].Level != zapcore.DebugLevel || got[1].Level != zapcore.WarnLevel {
		t.Fatalf("got %v", got)
	}
	if got[0].Message != "http2: server connection error from 127.0.0.1:1234: connection error: COMPRESSION_ERROR" {
		t.Fatalf("message %q", got[0].Message)
	}
}

// benchRequests sends keep-alive requests to addr, one at a time.
func benchRequests(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET / HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
	}
}
