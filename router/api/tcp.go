package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router"
)

// addTCP serves the TCP routers and services of the live table.
func addTCP(mux *http.ServeMux, sw *router.Switcher) {
	mux.HandleFunc("GET /api/tcp/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().TCPRouters())
	})
	mux.HandleFunc("GET /api/tcp/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().TCPRouters(), r.PathValue("name"), func(v router.TCPRouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/tcp/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().TCPServices())
	})
	mux.HandleFunc("GET /api/tcp/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().TCPServices(), r.PathValue("name"), func(v router.TCPServiceInfo) string { return v.Name })
	})
}
