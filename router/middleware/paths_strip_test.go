package middleware

import (
	"net/http/httptest"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestStripPrefixForceSlash: the path the application sees behind
// stripPrefix, then addPrefix /v2, for each forceSlash setting.
func TestStripPrefixForceSlash(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name       string
		forceSlash *bool
		path, want string
	}{
		{"unset, whole path", nil, "/api", "/v2/"},
		{"unset, trailing slash", nil, "/api/", "/v2/"},
		{"unset, double slash kept", nil, "/api//x", "/v2//x"},
		{"unset, not a segment", nil, "/apix", "/v2/x"},
		{"true, whole path", &yes, "/api", "/v2/"},
		{"true, double slash removed", &yes, "/api//x", "/v2/x"},
		{"true, not a segment", &yes, "/apix", "/v2/x"},
		{"false, whole path stays empty", &no, "/api", "/v2"},
		{"false, trailing slash", &no, "/api/", "/v2/"},
		{"false, double slash kept", &no, "/api//x", "/v2//x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add := build(t, &config.Middleware{AddPrefix: &config.AddPrefix{Prefix: "/v2"}}, app)
			h := build(t, &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}, ForceSlash: tt.forceSlash}}, add)
			s := decodeSeen(t, do(h, httptest.NewRequest("GET", "http://app.test"+tt.path, nil)))
			if s.Path != tt.want {
				t.Fatalf("path %q, want %q", s.Path, tt.want)
			}
		})
	}
}
