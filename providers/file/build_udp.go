package file

import (
	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// addUDPOrigins records where each UDP router and service of a file is defined.
func addUDPOrigins(fc *fileConfig, n *decode.Node, path string) {
	udp := n.Get("udp")
	for _, s := range []struct {
		key  string
		kind config.Kind
		has  func(string) bool
	}{
		{"routers", config.KindUDPRouter, func(name string) bool { _, ok := fc.cfg.UDP.Routers[name]; return ok }},
		{"services", config.KindUDPService, func(name string) bool { _, ok := fc.cfg.UDP.Services[name]; return ok }},
	} {
		objs := udp.Get(s.key)
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

// mergeUDP adds the UDP objects of fc to res, keeping the first definition of each.
func mergeUDP(res *Result, fc *fileConfig, keep func(config.Kind, string) bool) {
	mergeObjects(&res.Config.UDP.Routers, fc.cfg.UDP.Routers, config.KindUDPRouter, keep)
	mergeObjects(&res.Config.UDP.Services, fc.cfg.UDP.Services, config.KindUDPService, keep)
}
