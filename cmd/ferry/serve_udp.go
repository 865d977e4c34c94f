package main

import (
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/metrics"
	"github.com/ferryproxy/ferry/router/udp"
)

// listenUDP opens the sockets of the UDP entry points names; the listener
// of names[i] serves the switcher's UDP entry point i.
func listenUDP(static *configs.Static, names []string, sw *router.Switcher, log *zap.Logger, reg *metrics.Registry) ([]*udp.Listener, error) {
	out := make([]*udp.Listener, 0, len(names))
	for i, name := range names {
		ep := static.EntryPoints[name]
		l, err := udp.Listen(log.Named("entrypoint").With(zap.String("entryPoint", name)), udp.Options{
			Name: name, Address: ep.Address, Timeout: ep.UDPTimeout(), Route: sw.UDPRoute(i),
			Sessions: sw.CountConnections(name, "UDP", reg.OpenConnections(name, "UDP")),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}
