package main

import (
	"net/http"
	"slices"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/api"
)

// dashboardService serves the dashboard at /dashboard/ and the API it
// reads, so that one router (PathPrefix(`/dashboard`) || PathPrefix(`/api`))
// is enough to reach it.
const dashboardService = "dashboard@internal"

// dashboardHandler returns the handler of dashboard@internal.
func dashboardHandler(sw *router.Switcher, apiOpts []api.Option) http.Handler {
	return api.Handler(sw, append(slices.Clip(apiOpts), api.WithDashboard())...)
}

// insecureAPIOptions returns the options of the insecure API listener: the
// API's, plus the dashboard when it is enabled.
func insecureAPIOptions(static *configs.Static, apiOpts []api.Option) []api.Option {
	if !static.DashboardEnabled() {
		return apiOpts
	}
	return append(slices.Clip(apiOpts), api.WithDashboard())
}

// entryPointList describes the static configuration's entry points for
// /api/entrypoints.
func entryPointList(static *configs.Static) []api.EntryPoint {
	out := []api.EntryPoint{}
	for _, name := range static.TCPEntryPointNames() {
		ep := static.EntryPoints[name]
		out = append(out, api.EntryPoint{Name: name, Address: ep.Address, Protocol: "tcp", TLS: ep.HTTP != nil && ep.HTTP.TLS != nil})
	}
	for _, name := range static.UDPEntryPointNames() {
		out = append(out, api.EntryPoint{Name: name, Address: static.EntryPoints[name].Address, Protocol: "udp"})
	}
	return out
}
