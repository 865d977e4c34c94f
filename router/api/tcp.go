package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router"
)

// addTCP serves the TCP routers and services of the live table.
func addTCP(mux *http.ServeMux, v *viewer) {
	mux.HandleFunc("GET /api/tcp/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().tcpRouters())
	})
	mux.HandleFunc("GET /api/tcp/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().tcpRouters(), r.PathValue("name"), func(v router.TCPRouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/tcp/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().tcpServices())
	})
	mux.HandleFunc("GET /api/tcp/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().tcpServices(), r.PathValue("name"), func(v router.TCPServiceInfo) string { return v.Name })
	})
}
