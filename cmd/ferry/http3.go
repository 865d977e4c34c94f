package main

import (
	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/entrypoint"
	"github.com/ferryproxy/ferry/router/metrics"
)

// http3Options are the HTTP/3 options of entry point name, or nil when
// HTTP/3 is off there. Its QUIC connections count as protocol "HTTP3" in
// the open connections gauge and on the dashboard.
func http3Options(cfg *configs.EntryPointConfig, name string, sw *router.Switcher, reg *metrics.Registry) *entrypoint.HTTP3Options {
	port, on := cfg.HTTP3AdvertisedPort()
	if !on {
		return nil
	}
	return &entrypoint.HTTP3Options{AdvertisedPort: port,
		Connections: sw.CountConnections(name, "HTTP3", reg.OpenConnections(name, "HTTP3"))}
}
