package traffic

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestBufferingRequest(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	var got string
	var gotLen int64
	var spilled bool
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotLen = string(b), r.ContentLength
		files, _ := filepath.Glob(filepath.Join(dir, "ferry-buffer-*"))
		spilled = len(files) > 0
		_, _ = io.WriteString(w, "ok")
	})
	h := build(t, &config.Middleware{Buffering: &config.Buffering{MaxRequestBodyBytes: 100, MemRequestBodyBytes: 10}}, echo)
	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
		spilled bool
	}{
		{"small", "hello", false, 200, false},
		{"spills to disk", strings.Repeat("x", 50), true, 200, true},
		{"too large", strings.Repeat("x", 101), false, 413, false},
		{"too large chunked", strings.Repeat("x", 101), true, 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, spilled = "", false
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.chunked {
				r.ContentLength = -1
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if tt.want == 200 && (got != tt.body || gotLen != int64(len(tt.body)) || spilled != tt.spilled) {
				t.Errorf("server got %d bytes, Content-Length %d, spilled %v; want %d bytes, spilled %v", len(got), gotLen, spilled, len(tt.body), tt.spilled)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "ferry-buffer-*")); len(files) != 0 {
				t.Errorf("temporary files left: %v", files)
			}
		})
	}
}

func TestBufferingResponse(t *testing.T) {
	big := strings.Repeat("y", 64)
	h := build(t, &config.Middleware{Buffering: &config.Buffering{MaxResponseBodyBytes: 32, MemResponseBodyBytes: 8}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Up", "1")
			w.WriteHeader(http.StatusCreated)
			if r.URL.Path == "/big" {
				_, _ = io.WriteString(w, big)
				return
			}
			_, _ = io.WriteString(w, "0123456789abcdef")
			_, _ = io.WriteString(w, "0123456789")
		}))
	w := serve(h, "GET", "/", "", nil, nil)
	if w.Code != 201 || w.Body.String() != "0123456789abcdef0123456789" || w.Header().Get("Content-Length") != "26" || w.Header().Get("X-Up") != "1" {
		t.Errorf("got %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if w := serve(h, "GET", "/big", "", nil, nil); w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "yyy") {
		t.Errorf("response over maxResponseBodyBytes: %d %q, want 500 without it", w.Code, w.Body.String())
	}
}

func TestBufferingRetryExpression(t *testing.T) {
	tries := 0
	var bodies []string
	h := build(t, &config.Middleware{Buffering: &config.Buffering{RetryExpression: "IsNetworkError() && Attempts() < 3"}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tries++
			b, _ := io.ReadAll(r.Body)
			bodies = append(bodies, string(b))
			if tries < 3 {
				SetProxyError(w, errors.New("connection refused"))
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			_, _ = io.WriteString(w, "third")
		}))
	w := serve(h, "POST", "/", "", nil, strings.NewReader("data"))
	if w.Code != 200 || w.Body.String() != "third" || tries != 3 {
		t.Errorf("got %d %q after %d tries, want 200 from the third", w.Code, w.Body.String(), tries)
	}
	for i, b := range bodies {
		if b != "data" {
			t.Errorf("attempt %d got body %q", i+1, b)
		}
	}
}

func TestBufferingErrors(t *testing.T) {
	tests := []struct {
		c    config.Buffering
		want string
	}{
		{config.Buffering{MaxRequestBodyBytes: -1}, "buffering.maxRequestBodyBytes"},
		{config.Buffering{RetryExpression: "Attempts() <"}, "buffering.retryExpression"},
		{config.Buffering{RetryExpression: "NetworkErrorRatio() > 1"}, "buffering.retryExpression"},
	}
	for _, tt := range tests {
		_, err := New(&config.Middleware{Buffering: &tt.c}, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("err = %v, want prefix %q", err, tt.want)
		}
	}
}
