package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/acme"
)

// Option adds endpoints to the API.
type Option func(*http.ServeMux)

// WithACME serves the state of automatically obtained certificates:
// /api/tls/certificates (one entry per name: status, error, attempts,
// expiry) and /api/tls/routers (one entry per router with a
// tls.certResolver: its names, status and errors).
func WithACME(m *acme.Manager) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/tls/certificates", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, m.Certificates())
		})
		mux.HandleFunc("GET /api/tls/routers", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, m.Routers())
		})
		mux.HandleFunc("GET /api/tls/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
			writeOne(w, m.Routers(), r.PathValue("name"), func(v acme.RouterStatus) string { return v.Router })
		})
	}
}
