package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/acme"
	"github.com/ferryproxy/ferry/router/config"
)

// Option adds endpoints to the API.
type Option func(*http.ServeMux)

// WithACME serves the state of automatically obtained certificates:
// /api/tls/certificates (one entry per name: status, error, attempts,
// expiry) and /api/tls/routers (one entry per router with a
// tls.certResolver: its names, status and errors). Errors pass through
// config.RedactText: a CA's answer may quote a URL with its credentials.
func WithACME(m *acme.Manager) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/tls/certificates", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, certificates(m))
		})
		mux.HandleFunc("GET /api/tls/routers", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, tlsRouters(m))
		})
		mux.HandleFunc("GET /api/tls/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
			writeOne(w, tlsRouters(m), r.PathValue("name"), func(v acme.RouterStatus) string { return v.Router })
		})
	}
}

func certificates(m *acme.Manager) []acme.CertificateStatus {
	out := m.Certificates()
	for i := range out {
		out[i].Error = config.RedactText(out[i].Error)
	}
	return out
}

func tlsRouters(m *acme.Manager) []acme.RouterStatus {
	out := m.Routers()
	for i := range out {
		if errs := out[i].Errors; len(errs) > 0 {
			red := make([]string, len(errs)) // the manager's slice is not ours to change
			for j, e := range errs {
				red[j] = config.RedactText(e)
			}
			out[i].Errors = red
		}
	}
	return out
}
