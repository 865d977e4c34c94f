package middleware

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestHeadersTraefikKeys covers the headers keys of unrolled/secure that
// Traefik configurations carry: what the client gets back for each.
func TestHeadersTraefikKeys(t *testing.T) {
	type req struct {
		url     string
		tls     bool
		headers map[string]string
	}
	tests := []struct {
		name     string
		c        config.Headers
		req      req
		status   int
		location string
		want     map[string]string // response headers ("" = absent)
	}{
		{name: "allowed host", c: config.Headers{AllowedHosts: []string{"App.Example"}},
			req: req{url: "http://app.example/x"}, status: 200},
		{name: "allowed host with a port", c: config.Headers{AllowedHosts: []string{"app.example"}},
			req: req{url: "http://app.example:8080/x"}, status: 200},
		{name: "host not allowed", c: config.Headers{AllowedHosts: []string{"app.example"}},
			req: req{url: "http://evil.example/x"}, status: 400},
		{name: "host from hostsProxyHeaders", c: config.Headers{AllowedHosts: []string{"app.example"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}},
			req: req{url: "http://10.0.0.1/x", headers: map[string]string{"X-Forwarded-Host": "app.example"}}, status: 200},
		{name: "hostsProxyHeaders value not allowed", c: config.Headers{AllowedHosts: []string{"app.example"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}},
			req: req{url: "http://app.example/x", headers: map[string]string{"X-Forwarded-Host": "evil.example"}}, status: 400},
		{name: "isDevelopment skips allowedHosts", c: config.Headers{AllowedHosts: []string{"app.example"}, IsDevelopment: true},
			req: req{url: "http://localhost:3000/x"}, status: 200},
		{name: "sslRedirect", c: config.Headers{SSLRedirect: true},
			req: req{url: "http://app.example/a/b?q=1"}, status: 301, location: "https://app.example/a/b?q=1"},
		{name: "sslRedirect temporary", c: config.Headers{SSLRedirect: true, SSLTemporaryRedirect: true},
			req: req{url: "http://app.example/a"}, status: 307, location: "https://app.example/a"},
		{name: "sslRedirect to sslHost", c: config.Headers{SSLRedirect: true, SSLHost: "secure.example:8443"},
			req: req{url: "http://app.example/a"}, status: 301, location: "https://secure.example:8443/a"},
		{name: "sslRedirect on TLS passes", c: config.Headers{SSLRedirect: true},
			req: req{url: "https://app.example/a", tls: true}, status: 200},
		{name: "sslRedirect with sslProxyHeaders passes", c: config.Headers{SSLRedirect: true, SSLProxyHeaders: map[string]string{"X-Scheme": "https"}},
			req: req{url: "http://app.example/a", headers: map[string]string{"X-Scheme": "HTTPS"}}, status: 200},
		{name: "sslRedirect with a trusted X-Forwarded-Proto passes", c: config.Headers{SSLRedirect: true},
			req: req{url: "http://app.example/a", headers: map[string]string{"X-Forwarded-Proto": "https"}}, status: 200},
		{name: "sslForceHost on TLS", c: config.Headers{SSLForceHost: true, SSLHost: "www.example"},
			req: req{url: "https://example/a", tls: true}, status: 301, location: "https://www.example/a"},
		{name: "sslForceHost, right host", c: config.Headers{SSLForceHost: true, SSLHost: "www.example"},
			req: req{url: "https://www.example/a", tls: true}, status: 200},
		{name: "isDevelopment skips sslRedirect", c: config.Headers{SSLRedirect: true, IsDevelopment: true},
			req: req{url: "http://app.example/a"}, status: 200},
		{name: "STS from sslProxyHeaders", c: config.Headers{STSSeconds: 60, SSLProxyHeaders: map[string]string{"X-Scheme": "https"}},
			req: req{url: "http://app.example/", headers: map[string]string{"X-Scheme": "https"}}, status: 200,
			want: map[string]string{"Strict-Transport-Security": "max-age=60"}},
		{name: "no STS in development", c: config.Headers{STSSeconds: 60, IsDevelopment: true},
			req: req{url: "https://app.example/", tls: true}, status: 200, want: map[string]string{"Strict-Transport-Security": ""}},
		{name: "publicKey on TLS", c: config.Headers{PublicKey: `pin-sha256="abc"; max-age=60`},
			req: req{url: "https://app.example/", tls: true}, status: 200, want: map[string]string{"Public-Key-Pins": `pin-sha256="abc"; max-age=60`}},
		{name: "no publicKey on plain HTTP", c: config.Headers{PublicKey: `pin-sha256="abc"`},
			req: req{url: "http://app.example/"}, status: 200, want: map[string]string{"Public-Key-Pins": ""}},
		{name: "CSP report only and custom XSS value", c: config.Headers{ContentSecurityPolicyReportOnly: "default-src 'self'; report-uri /csp",
			BrowserXSSFilter: true, CustomBrowserXSSValue: "0"},
			req: req{url: "http://app.example/"}, status: 200, want: map[string]string{
				"Content-Security-Policy-Report-Only": "default-src 'self'; report-uri /csp", "X-Xss-Protection": "0"}},
		{name: "addVaryHeader: Vary on CORS answers", c: config.Headers{AddVaryHeader: true, AccessControlAllowOriginList: []string{"https://a.example"}},
			req: req{url: "http://app.example/", headers: map[string]string{"Origin": "https://a.example"}}, status: 200,
			want: map[string]string{"Vary": "Origin", "Access-Control-Allow-Origin": "https://a.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := build(t, &config.Middleware{Headers: &tt.c}, app)
			r := httptest.NewRequest("GET", tt.req.url, nil)
			if tt.req.tls {
				r.TLS = &tls.ConnectionState{}
			} else {
				r.TLS = nil
			}
			for k, v := range tt.req.headers {
				r.Header.Set(k, v)
			}
			rec := do(h, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.status, rec.Body.String())
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// BenchmarkHeadersAllowedHosts is the cost of allowedHosts and sslRedirect
// on a request that passes both.
func BenchmarkHeadersAllowedHosts(b *testing.B) {
	wrap, err := New(&config.Middleware{Headers: &config.Headers{AllowedHosts: []string{"app.test"}, SSLRedirect: true,
		SSLProxyHeaders: map[string]string{"X-Scheme": "https"}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := wrap(okApp)
	req := httptest.NewRequest("GET", "http://app.test/api/users", nil)
	req.Header.Set("X-Scheme", "https")
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}
