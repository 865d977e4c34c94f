package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router/ocsp"
)

// WithOCSP serves /api/tls/ocsp: the OCSP stapling state of every
// certificate of tls.certificates (names, serial, responder, state —
// good, revoked, unknown, pending, error or none —, whether handshakes
// carry a staple, and the response's validity). Certificates from ACME
// show theirs in /api/tls/certificates (field ocsp).
func WithOCSP(statuses func() []ocsp.Status) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/tls/ocsp", func(w http.ResponseWriter, _ *http.Request) {
			out := statuses()
			if out == nil {
				out = []ocsp.Status{}
			}
			writeJSON(w, out)
		})
	}
}
