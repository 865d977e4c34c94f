package router

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// TestServerPreservePath: the path of a server URL is dropped unless
// preservePath is set; then it goes in front of the request's path. The
// sticky cookie carries its domain.
func TestServerPreservePath(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test-Backend", r.URL.RequestURI())
	}))
	defer backend.Close()
	tests := []struct {
		name     string
		server   config.Server
		wantPath string
	}{
		{"no path", config.Server{URL: backend.URL}, "/x?q=1"},
		{"path dropped, as in Traefik", config.Server{URL: backend.URL + "/base"}, "/x?q=1"},
		{"preservePath", config.Server{URL: backend.URL + "/base", PreservePath: true}, "/base/x?q=1"},
		{"preservePath, trailing slash", config.Server{URL: backend.URL + "/base/", PreservePath: true}, "/base/x?q=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &config.Service{LoadBalancer: &config.LoadBalancer{Servers: []config.Server{tt.server},
				Sticky: &config.Sticky{Cookie: &config.Cookie{Name: "pin", Domain: "example.test"}}}}
			tbl := Build(Input{Config: &config.Config{HTTP: config.HTTP{
				Routers:  map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "app"}},
				Services: map[string]*config.Service{"app": svc},
			}}}, testOptions(nil))
			sw := &Switcher{log: zap.NewNop(), entryPoints: testOptions(nil).EntryPoints}
			sw.table.Store(tbl)
			rec := httptest.NewRecorder()
			sw.Handler(0, false).ServeHTTP(rec, httptest.NewRequest("GET", "http://app.test/x?q=1", nil))
			if got := rec.Header().Get("X-Test-Backend"); got != tt.wantPath {
				t.Fatalf("server got %q, want %q", got, tt.wantPath)
			}
			if c := rec.Result().Cookies(); len(c) != 1 || c[0].Domain != "example.test" {
				t.Fatalf("sticky cookies %v, want one with Domain=example.test", c)
			}
		})
	}
}
