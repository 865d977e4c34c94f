package router

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRedirectHandler(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name      string
		rd        Redirect
		method    string
		host      string
		target    string
		wantCode  int
		wantWhere string
	}{
		{"permanent GET drops 443", Redirect{Scheme: "https", Port: "443", Permanent: true}, "GET", "example.com", "/a?b=1",
			http.StatusMovedPermanently, "https://example.com/a?b=1"},
		{"port and host port replaced", Redirect{Scheme: "https", Port: "8443", Permanent: true}, "GET", "example.com:8080", "/",
			http.StatusMovedPermanently, "https://example.com:8443/"},
		{"permanent POST keeps the method", Redirect{Scheme: "https", Port: "443", Permanent: true}, "POST", "example.com", "/form",
			http.StatusPermanentRedirect, "https://example.com/form"},
		{"temporary GET", Redirect{Scheme: "https", Port: "443"}, "GET", "example.com", "/", http.StatusFound, "https://example.com/"},
		{"temporary PUT", Redirect{Scheme: "https", Port: "443"}, "PUT", "example.com", "/", http.StatusTemporaryRedirect, "https://example.com/"},
		{"IPv6 literal", Redirect{Scheme: "https", Port: "8443", Permanent: true}, "GET", "[::1]:8080", "/",
			http.StatusMovedPermanently, "https://[::1]:8443/"},
		{"challenge path goes through", Redirect{Scheme: "https", Port: "443", Permanent: true}, "GET", "example.com",
			"/.well-known/acme-challenge/token", http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://"+tt.host+tt.target, nil)
			req.Host = tt.host
			w := httptest.NewRecorder()
			RedirectHandler(tt.rd, next).ServeHTTP(w, req)
			if w.Code != tt.wantCode || w.Header().Get("Location") != tt.wantWhere {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.wantCode, tt.wantWhere)
			}
		})
	}
}
