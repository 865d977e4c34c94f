package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router"
)

// addUDP serves the UDP routers and services of the live table.
func addUDP(mux *http.ServeMux, v *viewer) {
	mux.HandleFunc("GET /api/udp/routers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().udpRouters())
	})
	mux.HandleFunc("GET /api/udp/routers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().udpRouters(), r.PathValue("name"), func(v router.UDPRouterInfo) string { return v.Name })
	})
	mux.HandleFunc("GET /api/udp/services", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, v.view().udpServices())
	})
	mux.HandleFunc("GET /api/udp/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, v.view().udpServices(), r.PathValue("name"), func(v router.UDPServiceInfo) string { return v.Name })
	})
}
