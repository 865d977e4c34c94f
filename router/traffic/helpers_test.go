package traffic

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// build builds a middleware through New and wraps next.
func build(t testing.TB, def *config.Middleware, next http.Handler) http.Handler {
	t.Helper()
	wrap, err := New(def, Options{Name: "test@file"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return wrap(next)
}

// ok answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "ok")
})

// serve sends one request from remote (ip:port) with extra headers.
func serve(h http.Handler, method, target, remote string, hdr map[string]string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	if remote != "" {
		r.RemoteAddr = remote
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// proxyTo is a reverse proxy answering like the router's: on a transport
// error it calls SetProxyError, then answers 502.
func proxyTo(t testing.TB, target string) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			SetProxyError(w, err)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "Bad Gateway\n")
		},
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// roundRobin sends each request to the next handler, like a balancer.
type roundRobin struct {
	n  atomic.Int64
	hs []http.Handler
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := rr.n.Add(1) - 1
	rr.hs[int(i)%len(rr.hs)].ServeHTTP(w, r)
}

// errRecorder is an outer writer that records the proxy error it is told.
type errRecorder struct {
	*httptest.ResponseRecorder
	err error
}

func (e *errRecorder) SetProxyError(err error) { e.err = err }

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || strings.Contains(err.Error(), "refused") || errors.Is(err, context.Canceled)
}
