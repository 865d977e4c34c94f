package entrypoint

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/fault"
	"time"
)

// BenchmarkGuard is the entry point's per-request work before routing, on
// top of the handler: framing check, limits, body wrapper.
func BenchmarkGuard(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	l := &Listener{plain: noop, secure: noop}
	l.opts.defaults()
	hc := &httpConn{}
	ctx := context.WithValue(context.Background(), fault.ConnKey{}, hc)
	for _, tc := range []struct {
		name string
		body string
	}{{"GET", ""}, {"POST", "hello world"}} {
		b.Run(tc.name, func(b *testing.B) {
			w := deadlineRecorder{httptest.NewRecorder()}
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://a.test/path?q=1", nil)
			body := strings.NewReader(tc.body)
			rc := io.NopCloser(body)
			b.ReportAllocs()
			for b.Loop() {
				r.Body = http.NoBody
				if tc.body != "" {
					body.Reset(tc.body)
					r.Body = rc
				}
				l.serveHTTP1(w, r)
			}
		})
	}
}

// BenchmarkHeaderScan is the cost of watching a typical request's bytes
// for Content-Length and Transfer-Encoding lines.
func BenchmarkHeaderScan(b *testing.B) {
	req := []byte("GET /api/v1/items?page=2 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Cookie: session=abcdef0123456789; theme=dark\r\nConnection: keep-alive\r\n\r\n")
	var s headerScan
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		s.scan(req)
	}
}

// deadlineRecorder accepts read deadlines, as a server's writer does.
type deadlineRecorder struct{ *httptest.ResponseRecorder }

func (deadlineRecorder) SetReadDeadline(time.Time) error { return nil }
