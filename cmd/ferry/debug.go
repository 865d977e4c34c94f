package main

import (
	"expvar"
	"net/http"
	"net/http/pprof"
)

// withDebug adds Go's profiler (/debug/pprof/) and /debug/vars to the
// insecure API's handler h (api.debug), e.g.
//
//	go tool pprof http://127.0.0.1:8080/debug/pprof/profile?seconds=20
func withDebug(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /debug/vars", expvar.Handler())
	return mux
}
