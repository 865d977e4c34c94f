package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// headBackend answers each request with the canned answer named by its
// path's last element, and hands the request's head to the test.
type headBackend struct {
	ln    net.Listener
	heads chan []byte
}

// cannedAnswers are the backend's answers, by name.
var cannedAnswers = map[string]string{
	"length":  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Server: a\r\nX-Server: b\r\nContent-Length: 5\r\n\r\nhello",
	"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	"trailers": "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n",
	"undeclared": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Late: yes\r\n\r\n",
	"hints": "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"nocontent": "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
	"notmod":    "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n",
	"hop":       "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nok",
	"events":    "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 9\r\n\r\ndata: 1\n\n",
	"error":     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
	"switch":    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"close":     "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
	"manyhints": strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", max1xx+1) +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"badheaders": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
}

func startHeadBackend(t *testing.T) *headBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &headBackend{ln: ln, heads: make(chan []byte, 64)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(conn)
		}
	}()
	return b
}

func (b *headBackend) serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		var head []byte
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			head = append(head, line...)
			if len(line) <= 2 {
				break
			}
		}
		b.heads <- head
		path := strings.Fields(string(head))[1]
		name := path[strings.LastIndexByte(path, '/')+1:]
		if i := strings.IndexByte(name, '?'); i >= 0 {
			name = name[:i]
		}
		answer, ok := cannedAnswers[name]
		if !ok {
			answer = cannedAnswers["length"]
		}
		if strings.HasPrefix(string(head), "HEAD ") {
			answer = strings.TrimSuffix(answer, "hello")
		}
		if _, err := io.WriteString(conn, answer); err != nil || name == "close" || name == "switch" {
			return
		}
	}
}

// forwardCase is one request to send both ways.
type forwardCase struct {
	name   string
	method string
	target string
	header http.Header
	host   string
	remote string
	tls    bool
}

func forwardCases() []forwardCase {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = append(out[kv[i]], kv[i+1])
		}
		return out
	}
	cases := []forwardCase{
		{name: "plain", target: "/a/length", header: h("User-Agent", "curl/8", "Accept", "*/*")},
		{name: "query", target: "/a/length?x=1&y=%20", header: h()},
		{name: "escaped path", target: "/a%2Fb/c%20d/length", header: h()},
		{name: "force query", target: "/length?", header: h()},
		{name: "no user agent", target: "/length", header: h("Accept", "text/html")},
		{name: "empty user agent", target: "/length", header: h("User-Agent", "")},
		{name: "two user agents", target: "/length", header: h("User-Agent", "one", "User-Agent", "two")},
		{name: "connection names headers", target: "/length", header: h("Connection", "X-Hop, keep-alive", "X-Hop", "1", "X-Kept", "2", "Keep-Alive", "300")},
		{name: "connection names forwarded", target: "/length", header: h("Connection", "X-Forwarded-Host, X-Real-Ip", "X-Real-Ip", "10.0.0.9")},
		{name: "hop headers", target: "/length", header: h("Proxy-Connection", "keep-alive", "Proxy-Authorization", "Basic x", "Te", "trailers, deflate", "Trailer", "X-T")},
		{name: "te without trailers", target: "/length", header: h("Te", "gzip")},
		{name: "prior forwarded", target: "/length", header: h("X-Forwarded-For", "192.0.2.1", "X-Forwarded-For", " 192.0.2.2 ", "X-Forwarded-Host", "front.test",
			"X-Forwarded-Proto", "https", "X-Forwarded-Port", "8443", "Forwarded", "for=192.0.2.1", "X-Real-Ip", "192.0.2.1")},
		{name: "values to trim", target: "/length", header: h("X-Spaces", "  padded\t", "X-Empty", "", "X-Multi", "1", "X-Multi", "2")},
		{name: "host with port", target: "/length", header: h(), host: "app.test:8080"},
		{name: "no host", target: "/length", header: h(), host: "-"},
		{name: "ipv6 client", target: "/length", header: h(), remote: "[2001:db8::1]:4000"},
		{name: "unparsable remote", target: "/length", header: h(), remote: "pipe"},
		{name: "tls", target: "/length", header: h(), tls: true},
		{name: "delete", method: http.MethodDelete, target: "/length", header: h()},
		{name: "options", method: http.MethodOptions, target: "/length", header: h()},
		{name: "post without body", method: http.MethodPost, target: "/length", header: h()},
		{name: "head", method: http.MethodHead, target: "/length", header: h()},
		{name: "chunked answer", target: "/chunked", header: h()},
		{name: "declared trailers", target: "/trailers", header: h("Te", "trailers")},
		{name: "undeclared trailers", target: "/undeclared", header: h()},
		{name: "early hints", target: "/hints", header: h()},
		{name: "no content", target: "/nocontent", header: h()},
		{name: "not modified", target: "/notmod", header: h()},
		{name: "hop-by-hop answer", target: "/hop", header: h()},
		{name: "event stream", target: "/events", header: h()},
		{name: "server error", target: "/error", header: h()},
		{name: "unasked switch", target: "/switch", header: h()},
		{name: "close-delimited", target: "/close", header: h()},
		{name: "malformed answer", target: "/badheaders", header: h()},
	}
	for i := range cases {
		if cases[i].method == "" {
			cases[i].method = http.MethodGet
		}
		if cases[i].host == "" {
			cases[i].host = "app.test"
		}
		if cases[i].remote == "" {
			cases[i].remote = "198.51.100.7:51000"
		}
	}
	return cases
}

// TestForwardMatchesReverseProxy sends each request once through forward
// and once through ReverseProxy and net/http's Transport, with and without the client's Host passed, and compares what the
// server received and what the client got.
func TestForwardMatchesReverseProxy(t *testing.T) {
	backend := startHeadBackend(t)
	target, _ := url.Parse("http://" + backend.ln.Addr().String())
	tr := NewTransports()
	defer tr.Close()
	for _, passHost := range []bool{true, false} {
		direct := newServerProxy(target, passHost, 0, tr, zap.NewNop())
		viaRP := newServerProxy(target, passHost, 0, tr, zap.NewNop())
		viaRP.direct = nil
		viaRP.rp.Transport = tr.HTTP // net/http's own client
		if direct.direct == nil {
			t.Fatal("a body-less request to an http:// server is not forwarded directly")
		}
		for _, tc := range forwardCases() {
			t.Run(fmt.Sprintf("%s/passHost=%v", tc.name, passHost), func(t *testing.T) {
				gotHead, gotAnswer := forwardOnce(t, backend, direct, tc)
				wantHead, wantAnswer := forwardOnce(t, backend, viaRP, tc)
				if !reflect.DeepEqual(gotHead, wantHead) {
					t.Errorf("the server received\n%s\nwant (ReverseProxy)\n%s", gotHead, wantHead)
				}
				if gotAnswer != wantAnswer {
					t.Errorf("the client got\n%s\nwant (ReverseProxy)\n%s", gotAnswer, wantAnswer)
				}
			})
		}
	}
}

// receivedHead is a request as the server parsed it.
type receivedHead struct {
	Line   string
	Host   string
	Header http.Header
}

func (h receivedHead) String() string {
	return fmt.Sprintf("%s\nHost: %s\n%v", h.Line, h.Host, h.Header)
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r\n`)

// forwardOnce serves tc with p behind a net/http server and returns the
// request the backend received and the raw answer the client read.
func forwardOnce(t *testing.T, backend *headBackend, p *serverProxy, tc forwardCase) (*receivedHead, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What the entry point and middlewares may leave in a request,
		// on a fixed local port.
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}))
		r.Header = tc.header.Clone()
		r.RemoteAddr = tc.remote
		if tc.host == "-" {
			r.Host = ""
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				panic(v)
			}
		}()
		p.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = nil
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	host := tc.host
	if host == "-" {
		host = "ignored.test"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", tc.method, tc.target, host)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, _ := io.ReadAll(conn)
	var got *receivedHead
	select {
	case head := <-backend.heads:
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("the server received an unreadable request: %v\n%s", err, head)
		}
		got = &receivedHead{Line: strings.SplitN(string(head), "\r\n", 2)[0], Host: req.Host, Header: req.Header}
	case <-time.After(5 * time.Second):
		t.Fatal("the server received nothing")
	}
	out := dateLine.ReplaceAllString(string(answer), "")
	if bytes.Contains(answer, []byte("Transfer-Encoding: chunked")) {
		// ReverseProxy flushes a streamed answer's head from a timer that
		// races its first body write, so whether net/http sniffs a
		// Content-Type for it varies; forward flushes it first, always.
		out = strings.Replace(out, "Content-Type: text/plain; charset=utf-8\r\n", "", 1)
	}
	return got, out
}

// TestForwardTakesCommonRequests: the requests forward leaves to
// ReverseProxy are the ones it cannot send as ReverseProxy would.
func TestForwardTakesCommonRequests(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:8080")
	tr := NewTransports()
	defer tr.Close()
	p := newServerProxy(target, true, 0, tr, zap.NewNop())
	get := func(mod func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://app.test/x?q=1", nil)
		if mod != nil {
			mod(r)
		}
		return r
	}
	for _, tt := range []struct {
		name   string
		req    *http.Request
		direct bool
	}{
		{"get", get(nil), true},
		{"body", httptest.NewRequest(http.MethodPost, "http://app.test/", strings.NewReader("x")), false},
		{"upgrade", get(func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }), false},
		{"expect", get(func(r *http.Request) { r.Header.Set("Expect", "100-continue") }), false},
		{"semicolon query", get(func(r *http.Request) { r.URL.RawQuery = "a=1;b=2" }), false},
		{"bad escape in query", get(func(r *http.Request) { r.URL.RawQuery = "a=%zz" }), false},
		{"idn host", get(func(r *http.Request) { r.Host = "bücher.test" }), false},
		{"zone", get(func(r *http.Request) { r.Host = "[fe80::1%25eth0]" }), false},
		{"invalid host", get(func(r *http.Request) { r.Host = "a b" }), false},
	} {
		if _, got := p.directHost(tt.req); got != tt.direct {
			t.Errorf("%s: forwarded directly %v, want %v", tt.name, got, tt.direct)
		}
	}
	for _, tt := range []struct {
		name   string
		target string
		flush  time.Duration
	}{
		{"path", "http://127.0.0.1:8080/base", 0},
		{"query", "http://127.0.0.1:8080?k=v", 0},
		{"flush interval", "http://127.0.0.1:8080", 100 * time.Millisecond},
		{"https", "https://127.0.0.1:8443", 0},
		{"h2c", "h2c://127.0.0.1:8080", 0},
	} {
		u, _ := url.Parse(tt.target)
		if p := newServerProxy(u, true, tt.flush, tr, zap.NewNop()); p.direct != nil {
			t.Errorf("%s: forwarded directly, want ReverseProxy", tt.name)
		}
	}
}

// TestForwardPassiveHooks: forward reports answers and failures to the
// passive health check's hooks as ReverseProxy does.
func TestForwardPassiveHooks(t *testing.T) {
	backend := startHeadBackend(t)
	target, _ := url.Parse("http://" + backend.ln.Addr().String())
	tr := NewTransports()
	defer tr.Close()
	p := newServerProxy(target, true, 0, tr, zap.NewNop())
	var mu sync.Mutex
	var statuses []int
	var failures []string
	p.rp.ModifyResponse = func(resp *http.Response) error {
		mu.Lock()
		defer mu.Unlock()
		statuses = append(statuses, resp.StatusCode)
		return nil
	}
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		failures = append(failures, err.Error())
		mu.Unlock()
		proxyError(w, r, err)
	}
	for _, path := range []string{"/length", "/error", "/switch"} {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://app.test"+path, nil))
		<-backend.heads
	}
	if !reflect.DeepEqual(statuses, []int{200, 500}) {
		t.Errorf("ModifyResponse saw %v, want [200 500]", statuses)
	}
	if len(failures) != 1 || !strings.Contains(failures[0], "switch protocol") {
		t.Errorf("ErrorHandler saw %q, want the unasked protocol switch", failures)
	}
}

// TestWriteForwardedCleansHeaders: header names net/http cannot write are
// dropped and line breaks in values become spaces, as Request.Write does
// (net/http's Transport refuses such requests instead).
func TestWriteForwardedCleansHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/x", nil)
	r.Header = http.Header{"Bad Name": {"dropped"}, "X-Break": {"a\r\nb "}, "X-Forwarded-For": {"\n192.0.2.1\n"}}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	if err := writeForwarded(bw, r, "app.test"); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	head := out.String()
	for _, want := range []string{"GET /x HTTP/1.1\r\nHost: app.test\r\n", "\r\nX-Break: a  b\r\n", "\r\nX-Forwarded-For: 192.0.2.1 , 192.0.2.1\r\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("head lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "Bad Name") {
		t.Errorf("an invalid header name was written:\n%s", head)
	}
	r.URL.RawQuery = "a=\x01"
	if err := writeForwarded(bufio.NewWriter(io.Discard), r, "app.test"); err == nil {
		t.Error("a control character in the query was written")
	}
}

// TestH1ClientInterimAnswers: ReverseProxy over the h1 client passes 103
// Early Hints on to the client, as over net/http's Transport, and a server
// sending 1xx answers without end gets a 502.
func TestH1ClientInterimAnswers(t *testing.T) {
	backend := startHeadBackend(t)
	target, _ := url.Parse("http://" + backend.ln.Addr().String())
	tr := NewTransports()
	defer tr.Close()
	p := newServerProxy(target, true, 0, tr, zap.NewNop())
	p.direct = nil // ReverseProxy, with the h1 client as its transport
	for _, tt := range []struct{ path, want string }{
		{"/hints", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"},
		{"/manyhints", "HTTP/1.1 502 Bad Gateway\r\n"},
	} {
		_, answer := forwardOnce(t, backend, p, forwardCase{method: http.MethodGet, target: tt.path, header: http.Header{}, host: "app.test", remote: "198.51.100.7:51000"})
		if !strings.HasPrefix(strings.ReplaceAll(answer, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", ""), tt.want) {
			t.Errorf("%s: the client got\n%s\nwant it to start with\n%s", tt.path, answer, tt.want)
		}
	}
}
