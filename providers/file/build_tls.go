package file

import (
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// addTLSOrigins records where each TLS options set and store of a file is defined.
func addTLSOrigins(fc *fileConfig, n *decode.Node, path string) {
	tls := n.Get("tls")
	for _, s := range []struct {
		key  string
		kind config.Kind
		has  func(string) bool
	}{
		{"options", config.KindTLSOptions, func(name string) bool { _, ok := fc.cfg.TLS.Options[name]; return ok }},
		{"stores", config.KindTLSStore, func(name string) bool { _, ok := fc.cfg.TLS.Stores[name]; return ok }},
	} {
		objs := tls.Get(s.key)
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

// tlsProblemFor turns a decode error inside tls.options.<name> or
// tls.stores.<name> into a problem of that object, which disables it (and
// the routers that use it): options read only in part, a sniStrict or a
// clientAuth left out, must not be served as if they were complete.
func tlsProblemFor(path string, e *decode.Error) (config.Problem, bool) {
	k := e.Keys
	if len(k) < 3 || !strings.EqualFold(k[0], "tls") || strings.HasPrefix(k[2], "[") {
		return config.Problem{}, false
	}
	kind := config.KindTLSOptions
	switch {
	case strings.EqualFold(k[1], "options"):
	case strings.EqualFold(k[1], "stores"):
		kind = config.KindTLSStore
	default:
		return config.Problem{}, false
	}
	return config.Problem{Kind: kind, Name: k[2], Field: decode.JoinPath(k[3:]), Message: where(path, e.Line) + ": " + e.Msg}, true
}
