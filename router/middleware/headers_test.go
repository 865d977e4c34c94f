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

// serverHeaders answers with headers the middleware should override or remove.
var serverHeaders = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "app/1.0")
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	w.Header().Set("X-Seen-Env", r.Header.Get("X-Env"))
	w.Header().Set("X-Seen-Debug", r.Header.Get("X-Debug"))
	w.Header().Set("X-Seen-Host", r.Host)
	_, _ = w.Write([]byte("ok"))
})

func TestHeadersCustomAndSecurity(t *testing.T) {
	h := build(t, &config.Middleware{Headers: &config.Headers{
		CustomRequestHeaders:  map[string]string{"X-Env": "prod", "X-Debug": "", "Host": "internal.app"},
		CustomResponseHeaders: map[string]string{"Server": "", "X-Served-By": "ferry"},
		FrameDeny:             true,
		ContentTypeNosniff:    true,
		BrowserXSSFilter:      true,
		ReferrerPolicy:        "no-referrer",
		ContentSecurityPolicy: "default-src 'self'",
		STSSeconds:            31536000,
		STSIncludeSubdomains:  true,
		STSPreload:            true,
	}}, serverHeaders)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Debug", "1")
	req.Header.Set("X-Env", "dev")
	rec := do(h, req)
	want := map[string]string{
		"X-Seen-Env":              "prod",
		"X-Seen-Debug":            "",
		"X-Seen-Host":             "internal.app",
		"Server":                  "",
		"X-Served-By":             "ferry",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"X-Xss-Protection":        "1; mode=block",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'self'",
		// plain HTTP: no Strict-Transport-Security
		"Strict-Transport-Security": "",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if n := len(rec.Header()["X-Frame-Options"]); n != 1 {
		t.Errorf("X-Frame-Options sent %d times, want once", n)
	}

	tlsReq := httptest.NewRequest("GET", "https://app.test/", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	if got := do(h, tlsReq).Header().Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains; preload" {
		t.Errorf("Strict-Transport-Security over TLS: %q", got)
	}
	forced := build(t, &config.Middleware{Headers: &config.Headers{STSSeconds: 60, ForceSTSHeader: true}}, serverHeaders)
	if got := do(forced, httptest.NewRequest("GET", "/", nil)).Header().Get("Strict-Transport-Security"); got != "max-age=60" {
		t.Errorf("forced Strict-Transport-Security: %q", got)
	}
}

func TestHeadersCORS(t *testing.T) {
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; _, _ = w.Write([]byte("ok")) })
	h := build(t, &config.Middleware{Headers: &config.Headers{
		AccessControlAllowOriginList:  []string{"https://app.example"},
		AccessControlAllowMethods:     []string{"GET", "PUT"},
		AccessControlAllowHeaders:     []string{"Content-Type", "X-Token"},
		AccessControlExposeHeaders:    []string{"X-Request-Id"},
		AccessControlAllowCredentials: true,
		AccessControlMaxAge:           600,
	}}, next)

	tests := []struct {
		name, method, origin string
		preflight            bool
		want                 map[string]string
		wantReached          bool
	}{
		{"preflight allowed", "OPTIONS", "https://app.example", true, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET, PUT",
			"Access-Control-Allow-Headers": "Content-Type, X-Token", "Access-Control-Max-Age": "600",
			"Access-Control-Allow-Credentials": "true", "Vary": "Origin",
		}, false},
		{"preflight other origin", "OPTIONS", "https://evil.example", true, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "",
		}, false},
		{"simple request", "GET", "https://app.example", false, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Expose-Headers": "X-Request-Id",
			"Access-Control-Allow-Credentials": "true", "Vary": "Origin",
		}, true},
		{"plain OPTIONS goes to the app", "OPTIONS", "https://app.example", false, map[string]string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached = 0
			req := httptest.NewRequest(tt.method, "/", nil)
			req.Header.Set("Origin", tt.origin)
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "PUT")
			}
			rec := do(h, req)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if (reached > 0) != tt.wantReached {
				t.Errorf("app reached %d times, want reached=%v", reached, tt.wantReached)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHeadersOriginRegexAndFrameOptions(t *testing.T) {
	h := build(t, &config.Middleware{Headers: &config.Headers{
		AccessControlAllowOriginListRegex: []string{`^https://[a-z]+\.example\.com$`},
		FrameDeny:                         true,
		CustomFrameOptionsValue:           "SAMEORIGIN",
		PermissionsPolicy:                 "camera=()",
	}}, serverHeaders)
	for _, tt := range []struct{ origin, want string }{
		{"https://shop.example.com", "https://shop.example.com"},
		{"https://shop.example.com.evil.test", ""},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Origin", tt.origin)
		rec := do(h, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want %q", tt.origin, got, tt.want)
		}
		if got := rec.Header().Get("X-Frame-Options"); got != "SAMEORIGIN" {
			t.Errorf("X-Frame-Options %q, want the custom SAMEORIGIN", got)
		}
		if got := rec.Header().Get("Permissions-Policy"); got != "camera=()" {
			t.Errorf("Permissions-Policy %q", got)
		}
	}
}

func TestHeadersErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *config.Headers
		want string
	}{
		{"bad request header", &config.Headers{CustomRequestHeaders: map[string]string{"X Bad": "1"}}, "headers.customRequestHeaders: "},
		{"bad response header", &config.Headers{CustomResponseHeaders: map[string]string{"X:Bad": "1"}}, "headers.customResponseHeaders: "},
		{"negative max age", &config.Headers{AccessControlAllowOriginList: []string{"*"}, AccessControlMaxAge: -1}, "headers.accessControlMaxAge: "},
		{"negative sts", &config.Headers{STSSeconds: -1}, "headers.stsSeconds: "},
		{"bad origin regex", &config.Headers{AccessControlAllowOriginListRegex: []string{"^https://(.*"}}, "headers.accessControlAllowOriginListRegex[0]: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{Headers: tt.c}, Options{Log: zap.NewNop()})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
