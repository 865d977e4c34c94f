package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

func TestPaths(t *testing.T) {
	tests := []struct {
		name       string
		def        *config.Middleware
		path       string
		wantPath   string
		wantHeader map[string]string
	}{
		{"stripPrefix", &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/v1", "/api"}}},
			"/api/users", "/users", map[string]string{"X-Forwarded-Prefix": "/api"}},
		{"stripPrefix whole path", &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}},
			"/api", "/", map[string]string{"X-Forwarded-Prefix": "/api"}},
		{"stripPrefix no match", &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}},
			"/web/x", "/web/x", map[string]string{"X-Forwarded-Prefix": ""}},
		{"stripPrefixRegex", &config.Middleware{StripPrefixRegex: &config.StripPrefixRegex{Regex: []string{`/users/[0-9]+`}}},
			"/users/42/profile", "/profile", map[string]string{"X-Forwarded-Prefix": "/users/42"}},
		{"stripPrefixRegex not at start", &config.Middleware{StripPrefixRegex: &config.StripPrefixRegex{Regex: []string{`/users/[0-9]+`}}},
			"/x/users/42", "/x/users/42", nil},
		{"addPrefix", &config.Middleware{AddPrefix: &config.AddPrefix{Prefix: "/backend"}},
			"/items", "/backend/items", nil},
		{"replacePath", &config.Middleware{ReplacePath: &config.ReplacePath{Path: "/health"}},
			"/status/now", "/health", map[string]string{"X-Replaced-Path": "/status/now"}},
		{"replacePathRegex", &config.Middleware{ReplacePathRegex: &config.ReplacePathRegex{Regex: `^/old/(.*)`, Replacement: "/new/$1"}},
			"/old/a/b", "/new/a/b", map[string]string{"X-Replaced-Path": "/old/a/b"}},
		{"replacePathRegex no match", &config.Middleware{ReplacePathRegex: &config.ReplacePathRegex{Regex: `^/old/(.*)`, Replacement: "/new/$1"}},
			"/other", "/other", map[string]string{"X-Replaced-Path": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://app.test"+tt.path+"?q=1", nil)
			s := decodeSeen(t, do(build(t, tt.def, app), req))
			if s.Path != tt.wantPath {
				t.Errorf("path %q, want %q", s.Path, tt.wantPath)
			}
			for k, v := range tt.wantHeader {
				if got := s.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if req.URL.Path != tt.path {
				t.Errorf("the original request's path became %q (the access log reads it)", req.URL.Path)
			}
		})
	}
}

func TestPathsEscaped(t *testing.T) {
	h := build(t, &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}}, app)
	s := decodeSeen(t, do(h, httptest.NewRequest("GET", "/api/a%2Fb", nil)))
	if s.Path != "/a/b" || s.RawPath != "/a%2Fb" {
		t.Errorf("path %q raw %q, want /a/b and /a%%2Fb", s.Path, s.RawPath)
	}
}

func TestPathsErrors(t *testing.T) {
	tests := []struct {
		name string
		def  *config.Middleware
		want string
	}{
		{"no prefixes", &config.Middleware{StripPrefix: &config.StripPrefix{}}, "stripPrefix.prefixes: "},
		{"bad regex", &config.Middleware{StripPrefixRegex: &config.StripPrefixRegex{Regex: []string{"/ok", "/(bad"}}}, "stripPrefixRegex.regex[1]: "},
		{"empty add", &config.Middleware{AddPrefix: &config.AddPrefix{}}, "addPrefix.prefix: "},
		{"empty replace", &config.Middleware{ReplacePath: &config.ReplacePath{}}, "replacePath.path: "},
		{"bad replace regex", &config.Middleware{ReplacePathRegex: &config.ReplacePathRegex{Regex: "[", Replacement: "/"}}, "replacePathRegex.regex: "},
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
