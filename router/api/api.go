// Package api serves Ferry's read-only JSON API: the routers, services and
// middlewares of the live table with their status and errors.
package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// Handler returns the API handler for the switcher's live table; opts
// add endpoints.
func Handler(sw *router.Switcher, opts ...Option) http.Handler {
	mux := http.NewServeMux()
	for _, o := range opts {
		o(mux)
	}
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /api/http/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().Routers())
	})
	mux.HandleFunc("GET /api/http/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().Routers(), r.PathValue("name"), func(v router.RouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/http/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().Services())
	})
	mux.HandleFunc("GET /api/http/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().Services(), r.PathValue("name"), func(v router.ServiceInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/http/middlewares", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, middlewares(sw.Table()))
	})
	mux.HandleFunc("GET /api/http/middlewares/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, middlewares(sw.Table()), r.PathValue("name"), func(v router.MiddlewareInfo) string { return v.Name })
	})
	addTCP(mux, sw)
	addUDP(mux, sw)
	mux.HandleFunc("GET /api/rawdata", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, rawData(sw.Table()))
	})
	return mux
}

// RawData is the whole live configuration with every object's state.
type RawData struct {
	Routers     map[string]router.RouterInfo     `json:"routers"`
	Services    map[string]router.ServiceInfo    `json:"services"`
	Middlewares map[string]router.MiddlewareInfo `json:"middlewares"`
	TLS         config.TLS                       `json:"tls"`
	Problems    []config.Problem                 `json:"problems"`
}

func rawData(t *router.Table) RawData {
	d := RawData{
		Routers:     map[string]router.RouterInfo{},
		Services:    map[string]router.ServiceInfo{},
		Middlewares: map[string]router.MiddlewareInfo{},
		TLS:         t.Config().TLS,
		Problems:    t.Problems(),
	}
	for _, r := range t.Routers() {
		d.Routers[r.Name] = r
	}
	for _, s := range t.Services() {
		d.Services[s.Name] = s
	}
	for _, m := range middlewares(t) {
		d.Middlewares[m.Name] = m
	}
	if d.Problems == nil {
		d.Problems = []config.Problem{}
	}
	return d
}

func writeOne[T any](w http.ResponseWriter, items []T, name string, nameOf func(T) string) {
	for _, it := range items {
		if nameOf(it) == name {
			writeJSON(w, it)
			return
		}
	}
	http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// middlewares returns the table's middlewares with secrets redacted: the
// password hashes of basicAuth users are never shown.
func middlewares(t *router.Table) []router.MiddlewareInfo {
	out := t.Middlewares()
	for i, m := range out {
		if m.Middleware == nil || m.BasicAuth == nil || len(m.BasicAuth.Users) == 0 {
			continue
		}
		def := *m.Middleware
		auth := *def.BasicAuth
		auth.Users = make([]string, len(m.BasicAuth.Users))
		for j, u := range m.BasicAuth.Users {
			name, _, _ := strings.Cut(u, ":")
			auth.Users[j] = name + ":<redacted>"
		}
		def.BasicAuth = &auth
		out[i].Middleware = &def
	}
	return out
}
