package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// discard is a reusable ResponseWriter that keeps nothing but headers.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// okApp answers 200 with a short text, as a small API answer.
var okApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = []string{"text/plain"}
	_, _ = io.WriteString(w, "ok\n")
})

// BenchmarkPassThrough measures each middleware on the path where the
// request goes on to the application (authorised, not redirected).
func BenchmarkPassThrough(b *testing.B) {
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Auth-User", "alice")
	}))
	defer auth.Close()
	pages := func(string) (http.Handler, bool) { return okApp, true }
	sha := "u:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=" // secret
	apr := "u:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"
	benches := []struct {
		name   string
		def    *config.Middleware
		accept string
		app    http.Handler
	}{
		{name: "basicAuth/sha1", def: &config.Middleware{BasicAuth: &config.BasicAuth{Users: []string{sha}, HeaderField: "X-User"}}},
		{name: "basicAuth/apr1-cached", def: &config.Middleware{BasicAuth: &config.BasicAuth{Users: []string{apr}}}},
		{name: "basicAuth/bcrypt-cached", def: &config.Middleware{BasicAuth: &config.BasicAuth{Users: []string{bcryptLine(b, "u", "secret")}}}},
		{name: "forwardAuth/loopback", def: &config.Middleware{ForwardAuth: &config.ForwardAuth{Address: auth.URL, AuthResponseHeaders: []string{"X-Auth-User"}}}},
		{name: "headers/custom+security", def: &config.Middleware{Headers: &config.Headers{
			CustomRequestHeaders: map[string]string{"X-Env": "prod"}, CustomResponseHeaders: map[string]string{"Server": ""},
			FrameDeny: true, ContentTypeNosniff: true}}},
		{name: "headers/request-only", def: &config.Middleware{Headers: &config.Headers{CustomRequestHeaders: map[string]string{"X-Env": "prod"}}}},
		{name: "stripPrefix", def: &config.Middleware{StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}}},
		{name: "stripPrefixRegex", def: &config.Middleware{StripPrefixRegex: &config.StripPrefixRegex{Regex: []string{"/a[a-z]+"}}}},
		{name: "addPrefix", def: &config.Middleware{AddPrefix: &config.AddPrefix{Prefix: "/v2"}}},
		{name: "replacePath", def: &config.Middleware{ReplacePath: &config.ReplacePath{Path: "/x"}}},
		{name: "replacePathRegex", def: &config.Middleware{ReplacePathRegex: &config.ReplacePathRegex{Regex: "^/api/(.*)", Replacement: "/$1"}}},
		{name: "redirectScheme/already-on-scheme", def: &config.Middleware{RedirectScheme: &config.RedirectScheme{Scheme: "http", Port: "80"}}},
		{name: "redirectRegex/no-match", def: &config.Middleware{RedirectRegex: &config.RedirectRegex{Regex: "^https://other/", Replacement: "https://x/"}}},
		{name: "compress/no-accept-encoding", def: &config.Middleware{Compress: &config.Compress{}}},
		{name: "compress/gzip-small-answer", def: &config.Middleware{Compress: &config.Compress{}}, accept: "gzip, br"},
		{name: "compress/gzip-4KiB", def: &config.Middleware{Compress: &config.Compress{Encodings: []string{"gzip"}}}, accept: "gzip", app: textApp("text/plain", false, 4096)},
		{name: "compress/br-4KiB", def: &config.Middleware{Compress: &config.Compress{Encodings: []string{"br"}}}, accept: "br", app: textApp("text/plain", false, 4096)},
		{name: "compress/zstd-4KiB", def: &config.Middleware{Compress: &config.Compress{Encodings: []string{"zstd"}}}, accept: "zstd", app: textApp("text/plain", false, 4096)},
		{name: "errors/200", def: &config.Middleware{Errors: &config.ErrorPages{Status: []string{"500-599"}, Service: "pages"}}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			wrap, err := New(bb.def, Options{Log: zap.NewNop(), Service: pages})
			if err != nil {
				b.Fatal(err)
			}
			app := bb.app
			if app == nil {
				app = okApp
			}
			h := wrap(app)
			req := httptest.NewRequest("GET", "http://app.test/api/users", nil)
			req.SetBasicAuth("u", "secret")
			if bb.accept != "" {
				req.Header.Set("Accept-Encoding", bb.accept)
			}
			w := &discard{h: make(http.Header)}
			h.ServeHTTP(w, req) // warm caches and pools
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkApp is the application alone, the baseline of BenchmarkPassThrough.
func BenchmarkApp(b *testing.B) {
	req := httptest.NewRequest("GET", "http://app.test/api/users", nil)
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		okApp.ServeHTTP(w, req)
	}
}
