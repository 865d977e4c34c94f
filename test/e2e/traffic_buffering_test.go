package e2e

import (
	"net/http"
	"strings"
	"testing"
)

func TestBuffering(t *testing.T) {
	b := StartBackend(t, "b", map[string]http.HandlerFunc{
		"/upload": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", "b")
			w.Header().Set("X-Length", r.Header.Get("Content-Length"))
			_, _ = w.Write([]byte(strings.Repeat("r", int(r.ContentLength))))
		},
	})
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    buffered:
      rule: "Host('buf.test')"
      service: svc
      middlewares: [buffer]
  middlewares:
    buffer:
      buffering:
        maxRequestBodyBytes: 64
        memRequestBodyBytes: 16
        maxResponseBodyBytes: 48
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, b.URL)})
	f.WaitRoute("buf.test", "/upload", 200, "b") // the echo of / is over maxResponseBodyBytes
	c := clientFrom(t, f, "127.0.0.1")
	// A chunked upload reaches the server whole, with its length.
	res := c.do("POST", "buf.test", "/upload", nil, strings.NewReader(strings.Repeat("x", 40)))
	if res.Status != 200 || res.Header.Get("X-Length") != "40" || len(res.Body) != 40 || res.Header.Get("Content-Length") != "40" {
		t.Errorf("40-byte upload: %d, server saw Content-Length %q, answer %d bytes with Content-Length %q",
			res.Status, res.Header.Get("X-Length"), len(res.Body), res.Header.Get("Content-Length"))
	}
	if res := c.do("POST", "buf.test", "/upload", nil, strings.NewReader(strings.Repeat("x", 65))); res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("65-byte upload over maxRequestBodyBytes: %d, want 413", res.Status)
	}
	if res := c.do("POST", "buf.test", "/upload", nil, strings.NewReader(strings.Repeat("x", 60))); res.Status != http.StatusInternalServerError {
		t.Errorf("60-byte answer over maxResponseBodyBytes: %d, want 500", res.Status)
	}
}
