package main

import (
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/udp"
)

// udpEntryPointNames returns the names of the UDP entry points, sorted.
func udpEntryPointNames(static *Static) []string {
	var out []string
	for _, name := range sortedNames(static.EntryPoints) {
		if ep := static.EntryPoints[name]; ep != nil && ep.udp {
			out = append(out, name)
		}
	}
	return out
}

// listenUDP opens the sockets of the UDP entry points names; the listener
// of names[i] serves the switcher's UDP entry point i.
func listenUDP(static *Static, names []string, sw *router.Switcher, log *zap.Logger) ([]*udp.Listener, error) {
	out := make([]*udp.Listener, 0, len(names))
	for i, name := range names {
		ep := static.EntryPoints[name]
		l, err := udp.Listen(log.Named("entrypoint").With(zap.String("entryPoint", name)), udp.Options{
			Name: name, Address: ep.Address, Timeout: ep.udpTimeout(), Route: sw.UDPRoute(i),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}
