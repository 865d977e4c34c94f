package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router"
)

// addUDP serves the UDP routers and services of the live table.
func addUDP(mux *http.ServeMux, sw *router.Switcher) {
	mux.HandleFunc("GET /api/udp/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().UDPRouters())
	})
	mux.HandleFunc("GET /api/udp/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().UDPRouters(), r.PathValue("name"), func(v router.UDPRouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/udp/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, sw.Table().UDPServices())
	})
	mux.HandleFunc("GET /api/udp/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, sw.Table().UDPServices(), r.PathValue("name"), func(v router.UDPServiceInfo) string { return v.Name })
	})
}
