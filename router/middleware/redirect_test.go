package middleware

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

func TestRedirectScheme(t *testing.T) {
	tests := []struct {
		name         string
		c            config.RedirectScheme
		method, url  string
		tls          bool
		wantStatus   int
		wantLocation string
	}{
		{"to https", config.RedirectScheme{Scheme: "https"}, "GET", "http://app.test/a?b=1", false, 302, "https://app.test/a?b=1"},
		{"permanent", config.RedirectScheme{Scheme: "https", Permanent: true}, "GET", "http://app.test/", false, 301, "https://app.test/"},
		{"POST keeps method", config.RedirectScheme{Scheme: "https"}, "POST", "http://app.test/", false, 307, "https://app.test/"},
		{"POST permanent", config.RedirectScheme{Scheme: "https", Permanent: true}, "POST", "http://app.test/", false, 308, "https://app.test/"},
		{"port", config.RedirectScheme{Scheme: "https", Port: "8443"}, "GET", "http://app.test:8080/x", false, 302, "https://app.test:8443/x"},
		{"default port dropped", config.RedirectScheme{Scheme: "https", Port: "443"}, "GET", "http://app.test:8080/x", false, 302, "https://app.test/x"},
		{"already https", config.RedirectScheme{Scheme: "https"}, "GET", "https://app.test/", true, 200, ""},
		{"ipv6", config.RedirectScheme{Scheme: "https"}, "GET", "http://[::1]:8080/", false, 302, "https://[::1]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			h := build(t, &config.Middleware{RedirectScheme: &c}, app)
			req := httptest.NewRequest(tt.method, tt.url, nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := do(h, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Location") != tt.wantLocation {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.wantStatus, tt.wantLocation)
			}
		})
	}
}

func TestRedirectRegex(t *testing.T) {
	h := build(t, &config.Middleware{RedirectRegex: &config.RedirectRegex{
		Regex: `^http://old\.test/(.*)`, Replacement: "https://new.test/${1}", Permanent: true,
	}}, app)
	rec := do(h, httptest.NewRequest("GET", "http://old.test/docs/a?x=1", nil))
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "https://new.test/docs/a?x=1" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Location"))
	}
	decodeSeen(t, do(h, httptest.NewRequest("GET", "http://other.test/docs", nil)))
}

func TestRedirectErrors(t *testing.T) {
	tests := []struct {
		name string
		def  *config.Middleware
		want string
	}{
		{"unknown scheme", &config.Middleware{RedirectScheme: &config.RedirectScheme{Scheme: "htps"}}, "redirectScheme.scheme: "},
		{"bad port", &config.Middleware{RedirectScheme: &config.RedirectScheme{Scheme: "https", Port: "99999"}}, "redirectScheme.port: "},
		{"bad regex", &config.Middleware{RedirectRegex: &config.RedirectRegex{Regex: "(", Replacement: "x"}}, "redirectRegex.regex: "},
		{"no replacement", &config.Middleware{RedirectRegex: &config.RedirectRegex{Regex: "x"}}, "redirectRegex.replacement: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.def, Options{Log: zap.NewNop()})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
