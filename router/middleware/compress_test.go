package middleware

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// text is a compressible body larger than the default threshold.
var text = strings.Repeat("Ferry compresses text answers. ", 200)

// textApp answers text with the given content type, length header and size.
func textApp(contentType string, withLength bool, size int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := text[:size]
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("Etag", `"v1"`)
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		for i := 0; i < len(body); i += 100 { // several writes, as a proxy copies
			_, _ = io.WriteString(w, body[i:min(i+100, len(body))])
		}
	})
}

func decode(t *testing.T, encoding string, body []byte) string {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "gzip":
		g, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = g
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer z.Close()
		r = z
	case "":
		return string(body)
	default:
		t.Fatalf("unexpected encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return string(out)
}

func TestCompressNegotiation(t *testing.T) {
	h := build(t, &config.Middleware{Compress: &config.Compress{}}, textApp("text/plain; charset=utf-8", false, len(text)))
	tests := []struct {
		accept string
		want   string
	}{
		{"gzip", "gzip"},
		{"br", "br"},
		{"zstd", "zstd"},
		{"gzip, deflate, br, zstd", "zstd"}, // ties: the server's order
		{"gzip;q=1.0, br;q=0.5", "gzip"},
		{"GZIP;Q=0.2, br;q=0.1", "gzip"},
		{"*;q=0.5, zstd;q=0", "br"},
		{"gzip;q=0", ""},
		{"identity", ""},
		{"deflate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Accept-Encoding", tt.accept)
			rec := do(h, req)
			if got := rec.Header().Get("Content-Encoding"); got != tt.want {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.want)
			}
			if got := decode(t, tt.want, rec.Body.Bytes()); got != text {
				t.Fatalf("decoded body differs (%d bytes, want %d)", len(got), len(text))
			}
			if tt.want == "" {
				return
			}
			if rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Content-Length") != "" {
				t.Errorf("Vary %q Content-Length %q", rec.Header().Get("Vary"), rec.Header().Get("Content-Length"))
			}
			if rec.Header().Get("Etag") != `W/"v1"` {
				t.Errorf("Etag %q, want the weak W/\"v1\"", rec.Header().Get("Etag"))
			}
			if rec.Body.Len() >= len(text)/4 {
				t.Errorf("compressed to %d bytes from %d", rec.Body.Len(), len(text))
			}
		})
	}
}

func TestCompressWhatPassesThrough(t *testing.T) {
	tests := []struct {
		name   string
		c      config.Compress
		app    http.Handler
		method string
		want   string
	}{
		{"small body", config.Compress{}, textApp("text/plain", false, 500), "GET", ""},
		{"small body with length", config.Compress{}, textApp("text/plain", true, 500), "GET", ""},
		{"large body with length", config.Compress{}, textApp("text/plain", true, 5000), "GET", "gzip"},
		{"lower threshold", config.Compress{MinResponseBodyBytes: 100}, textApp("text/plain", false, 500), "GET", "gzip"},
		{"excluded type", config.Compress{ExcludedContentTypes: []string{"Text/Plain"}}, textApp("text/plain; charset=utf-8", false, 5000), "GET", ""},
		{"sniffed type", config.Compress{}, textApp("", false, 5000), "GET", "gzip"},
		{"event stream", config.Compress{}, textApp("text/event-stream", false, 5000), "GET", ""},
		{"grpc", config.Compress{}, textApp("application/grpc+proto", false, 5000), "GET", ""},
		{"HEAD", config.Compress{}, textApp("text/plain", false, 5000), "HEAD", ""},
		{"already encoded", config.Compress{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "br")
			_, _ = io.WriteString(w, text)
		}), "GET", "br"},
		{"gzip only", config.Compress{Encodings: []string{"gzip"}}, textApp("text/plain", false, 5000), "GET", "gzip"},
		{"no-transform", config.Compress{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, No-Transform")
			_, _ = io.WriteString(w, text)
		}), "GET", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			h := build(t, &config.Middleware{Compress: &c}, tt.app)
			req := httptest.NewRequest(tt.method, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := do(h, req)
			if got := rec.Header().Get("Content-Encoding"); got != tt.want {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.want)
			}
			if tt.want == "gzip" {
				decode(t, "gzip", rec.Body.Bytes())
			}
			if tt.want == "" && tt.method == "GET" && !strings.HasPrefix(text, rec.Body.String()) {
				t.Errorf("uncompressed body altered")
			}
		})
	}
}

// TestCompressStreams runs a real server: flushed data must reach the
// client while the handler still runs, compressed or not.
func TestCompressStreams(t *testing.T) {
	release := make(chan struct{})
	h := build(t, &config.Middleware{Compress: &config.Compress{}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: 1\n\n")
		case "/small-flush": // unknown type, flushed before the threshold
			_, _ = io.WriteString(w, "tick\n")
		case "/big-flush": // compressible, flushed after the threshold
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, text[:2048])
		}
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	for _, tt := range []struct{ path, encoding, first string }{
		{"/sse", "", "data: 1\n"},
		{"/small-flush", "", "tick\n"},
		{"/big-flush", "gzip", text[:100]},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(tt.path)
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			var body io.Reader = resp.Body
			if tt.encoding == "gzip" {
				g, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatalf("gzip header not flushed: %v", err)
				}
				body = g
			}
			buf := make([]byte, len(tt.first))
			if _, err := io.ReadFull(bufio.NewReader(body), buf); err != nil || string(buf) != tt.first {
				t.Fatalf("first bytes %q, %v; want %q before the handler ends", buf, err, tt.first)
			}
		})
	}
}

func TestCompressHijack(t *testing.T) {
	h := build(t, &config.Middleware{Compress: &config.Compress{}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through compress: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw")
		_ = brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
	got, _ := io.ReadAll(conn)
	if !strings.HasSuffix(string(got), "\r\n\r\nraw") {
		t.Fatalf("hijacked connection got %q", got)
	}
}

func TestCompressErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *config.Compress
		want string
	}{
		{"negative min", &config.Compress{MinResponseBodyBytes: -1}, "compress.minResponseBodyBytes: "},
		{"bad type", &config.Compress{ExcludedContentTypes: []string{"text"}}, "compress.excludedContentTypes[0]: "},
		{"unknown encoding", &config.Compress{Encodings: []string{"gzip", "deflate"}}, "compress.encodings[1]: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{Compress: tt.c}, Options{Log: zap.NewNop()})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
