// Package api serves Ferry's read-only JSON API: the routers, services and
// middlewares of the live table with their status and errors.
package api

import (
	"encoding/json"
	"net/http"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// Handler returns the API handler for the switcher's live table; opts
// add endpoints. Every definition it shows comes from the table's
// configuration with its secrets redacted (config.Config.Redacted), and
// every server URL and error message passes through config.RedactURL or
// config.RedactText.
func Handler(sw *router.Switcher, opts ...Option) http.Handler {
	mux := http.NewServeMux()
	for _, o := range opts {
		o(mux)
	}
	v := &viewer{sw: sw}
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /api/http/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().routers())
	})
	mux.HandleFunc("GET /api/http/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().routers(), r.PathValue("name"), func(v router.RouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/http/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().services())
	})
	mux.HandleFunc("GET /api/http/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().services(), r.PathValue("name"), func(v router.ServiceInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/http/middlewares", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().middlewares())
	})
	mux.HandleFunc("GET /api/http/middlewares/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().middlewares(), r.PathValue("name"), func(v router.MiddlewareInfo) string { return v.Name })
	})
	addTCP(mux, v)
	addTCPMiddlewares(mux, v) // tcp_middlewares.go
	addUDP(mux, v)
	addLive(mux, v) // overview, events, explain (live.go)
	mux.HandleFunc("GET /api/rawdata", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, rawData(v.view()))
	})
	return mux
}

// RawData is the whole live configuration with every object's state.
// As Traefik's, it has the TCP and UDP objects under their own keys.
type RawData struct {
	Routers        map[string]router.RouterInfo        `json:"routers"`
	Services       map[string]router.ServiceInfo       `json:"services"`
	Middlewares    map[string]router.MiddlewareInfo    `json:"middlewares"`
	TCPRouters     map[string]router.TCPRouterInfo     `json:"tcpRouters"`
	TCPServices    map[string]router.TCPServiceInfo    `json:"tcpServices"`
	TCPMiddlewares map[string]router.TCPMiddlewareInfo `json:"tcpMiddlewares"`
	UDPRouters     map[string]router.UDPRouterInfo     `json:"udpRouters"`
	UDPServices    map[string]router.UDPServiceInfo    `json:"udpServices"`
	TLS            config.TLS                          `json:"tls"`
	Problems       []config.Problem                    `json:"problems"`
}

func rawData(v *view) RawData {
	d := RawData{
		Routers:     byName(v.routers(), func(r router.RouterInfo) string { return r.Name }),
		Services:    byName(v.services(), func(s router.ServiceInfo) string { return s.Name }),
		Middlewares: byName(v.middlewares(), func(m router.MiddlewareInfo) string { return m.Name }),
		TLS:         v.cfg.TLS,
		Problems:    v.problems(),
	}
	d.TCPRouters = byName(v.tcpRouters(), func(r router.TCPRouterInfo) string { return r.Name })
	d.TCPServices = byName(v.tcpServices(), func(s router.TCPServiceInfo) string { return s.Name })
	d.TCPMiddlewares = byName(v.tcpMiddlewares(), func(m router.TCPMiddlewareInfo) string { return m.Name })
	d.UDPRouters = byName(v.udpRouters(), func(r router.UDPRouterInfo) string { return r.Name })
	d.UDPServices = byName(v.udpServices(), func(s router.UDPServiceInfo) string { return s.Name })
	return d
}

// byName indexes items by name; never nil.
func byName[T any](items []T, nameOf func(T) string) map[string]T {
	out := make(map[string]T, len(items))
	for _, it := range items {
		out[nameOf(it)] = it
	}
	return out
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
