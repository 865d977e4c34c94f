package file

import (
	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// addTCPOrigins records where each TCP router and service of a file is defined.
func addTCPOrigins(fc *fileConfig, n *decode.Node, path string) {
	tcp := n.Get("tcp")
	for _, s := range []struct {
		key  string
		kind config.Kind
		has  func(string) bool
	}{
		{"routers", config.KindTCPRouter, func(name string) bool { _, ok := fc.cfg.TCP.Routers[name]; return ok }},
		{"services", config.KindTCPService, func(name string) bool { _, ok := fc.cfg.TCP.Services[name]; return ok }},
		{"middlewares", config.KindTCPMiddleware, func(name string) bool { _, ok := fc.cfg.TCP.Middlewares[name]; return ok }},
		{"serversTransports", config.KindTCPServersTransport, func(name string) bool { _, ok := fc.cfg.TCP.ServersTransports[name]; return ok }},
	} {
		objs := tcp.Get(s.key)
		if objs == nil || objs.Kind != decode.Map {
			continue
		}
		for _, name := range objs.Keys {
			if s.has(name) {
				fc.origins[config.ObjectID{Kind: s.kind, Name: name}] = where(path, objs.Map[name].Line)
			}
		}
	}
}
