package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router/dashboard"
)

// WithDashboard serves the dashboard at /dashboard/, and redirects / and
// /dashboard there.
func WithDashboard() Option {
	return func(mux *http.ServeMux) {
		mux.Handle("GET "+dashboard.Prefix, dashboard.Handler())
		redirect := http.RedirectHandler(dashboard.Prefix, http.StatusFound)
		mux.Handle("GET /dashboard", redirect)
		mux.Handle("GET /{$}", redirect)
	}
}

// EntryPoint is an entry point of the static configuration, as
// /api/entrypoints shows it.
type EntryPoint struct {
	Name string `json:"name"`
	// Address is the address it listens on, as configured.
	Address string `json:"address"`
	// Protocol is tcp (HTTP and TCP routers) or udp (UDP routers).
	Protocol string `json:"protocol"`
	// TLS is set when http.tls makes every router on it a TLS router.
	TLS bool `json:"tls,omitempty"`
}

// WithEntryPoints serves /api/entrypoints and /api/entrypoints/{name}:
// the entry points of the static configuration. Their live counters are
// in /api/overview.
func WithEntryPoints(eps []EntryPoint) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/entrypoints", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, eps)
		})
		mux.HandleFunc("GET /api/entrypoints/{name}", func(w http.ResponseWriter, r *http.Request) {
			writeOne(w, eps, r.PathValue("name"), func(e EntryPoint) string { return e.Name })
		})
	}
}
