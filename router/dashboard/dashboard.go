// Package dashboard is Ferry's web dashboard: plain HTML, CSS and
// JavaScript embedded in the binary, with no build step and nothing loaded
// from elsewhere, so that it works on an air-gapped host. It reads the
// JSON API (/api/...) of the same origin and follows its event stream.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Prefix is where the dashboard is served.
const Prefix = "/dashboard/"

// contentSecurityPolicy lets the page load and fetch from its own origin
// only: no script, style, font or image from anywhere else, no inline
// script, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the dashboard's files under Prefix.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil { // the embedded tree always has static/
		panic(err)
	}
	fileServer := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache") // revalidate: a new binary brings new files
		fileServer.ServeHTTP(w, r)
	})
}
