package api

import (
	"net/http"

	"github.com/ferryproxy/ferry/router"
)

// addTCPMiddlewares serves the TCP middlewares of the live table.
func addTCPMiddlewares(mux *http.ServeMux, v *viewer) {
	list := func() []router.TCPMiddlewareInfo { return v.view().tcpMiddlewares() }
	mux.HandleFunc("GET /api/tcp/middlewares", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, list())
	})
	mux.HandleFunc("GET /api/tcp/middlewares/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeOne(w, list(), r.PathValue("name"), func(v router.TCPMiddlewareInfo) string { return v.Name })
	})
}

func (v *view) tcpMiddlewares() []router.TCPMiddlewareInfo {
	out := v.t.TCPMiddlewares()
	for i := range out {
		out[i].TCPMiddleware = definition(v.cfg.TCP.Middlewares, out[i].Name)
	}
	return out
}
