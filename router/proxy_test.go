package router

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestProxyPassesEncodingUntouched: Ferry neither asks the server for gzip
// on the client's behalf nor decompresses what the server sends.
func TestProxyPassesEncodingUntouched(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Accept-Encoding", r.Header.Get("Accept-Encoding"))
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, "compressed body")
			_ = zw.Close()
			return
		}
		_, _ = io.WriteString(w, "plain body")
	}))
	defer srv.Close()
	cfg := &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"r": {Rule: "Host(`enc.test`)", Service: "s"}},
		Services: map[string]*config.Service{"s": lbService(srv.URL)},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	sw := &Switcher{log: testOptions(nil).Log, entryPoints: testOptions(nil).EntryPoints}
	sw.table.Store(tbl)

	for _, tt := range []struct{ acceptEncoding, wantSeen, wantEncoding string }{
		{"", "", ""},
		{"gzip", "gzip", "gzip"},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://enc.test/", nil)
		if tt.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", tt.acceptEncoding)
		}
		rec := httptest.NewRecorder()
		sw.Handler(0, false).ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Seen-Accept-Encoding"); got != tt.wantSeen {
			t.Errorf("client Accept-Encoding %q: server saw %q, want %q", tt.acceptEncoding, got, tt.wantSeen)
		}
		if got := rec.Header().Get("Content-Encoding"); got != tt.wantEncoding {
			t.Errorf("client Accept-Encoding %q: response Content-Encoding %q, want %q", tt.acceptEncoding, got, tt.wantEncoding)
		}
	}
}
