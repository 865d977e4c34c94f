package router

import (
	"slices"

	"github.com/ferryproxy/ferry/router/config"
)

// hasRouterDefaults reports whether the entry point gives its HTTP routers
// middlewares or a certificate resolver (entryPoints.<n>.http.middlewares,
// http.tls.certResolver and http.tls.domains).
func (ep *EntryPoint) hasRouterDefaults() bool {
	return len(ep.Middlewares) > 0 || ep.CertResolver != "" || len(ep.Domains) > 0
}

// withEntryPointDefaults applies the entry points' router defaults to the
// HTTP routers on them, as Traefik does: a router on such an entry point
// gets its middlewares first and, when it has no tls section of its own,
// the entry point's. A router on several entry points (none listed means
// all) is split: one router per entry point with defaults, named
// <entryPoint>-<name>, and the router itself keeps the other entry
// points. The origins and the providers' problems of a split router carry
// over to its parts. in is not modified.
func withEntryPointDefaults(in Input, eps []EntryPoint) Input {
	byName := make(map[string]*EntryPoint, len(eps))
	for i := range eps {
		if eps[i].hasRouterDefaults() {
			byName[eps[i].Name] = &eps[i]
		}
	}
	if len(byName) == 0 || in.Config == nil || len(in.Config.HTTP.Routers) == 0 {
		return in
	}
	all := make([]string, len(eps))
	for i, ep := range eps {
		all[i] = ep.Name
	}
	routers := make(map[string]*config.Router, len(in.Config.HTTP.Routers))
	parts := map[string][]string{} // split router name -> the names it became
	for name, r := range in.Config.HTTP.Routers {
		if r == nil {
			continue
		}
		on := r.EntryPoints
		if len(on) == 0 {
			on = all
		}
		if !slices.ContainsFunc(on, func(n string) bool { return byName[n] != nil }) {
			routers[name] = r
			continue
		}
		var rest []string
		for _, epName := range on {
			ep := byName[epName]
			if ep == nil {
				rest = append(rest, epName)
				continue
			}
			cp := *r
			cp.EntryPoints = []string{epName}
			provider := config.ProviderOf(name)
			mws := make([]string, 0, len(ep.Middlewares)+len(r.Middlewares))
			for _, m := range ep.Middlewares {
				mws = append(mws, config.Qualify(m, provider))
			}
			cp.Middlewares = append(mws, r.Middlewares...)
			if cp.TLS == nil && ep.TLS {
				cp.TLS = &config.RouterTLS{CertResolver: ep.CertResolver, Domains: ep.Domains, Options: ep.TLSOptions}
			}
			partName := name
			if len(on) > 1 {
				partName = epName + "-" + name
				parts[name] = append(parts[name], partName)
			}
			routers[partName] = &cp
		}
		if len(rest) > 0 {
			cp := *r
			cp.EntryPoints = rest
			routers[name] = &cp
			parts[name] = append(parts[name], name)
		}
	}
	cfg := *in.Config
	cfg.HTTP.Routers = routers
	out := Input{Config: &cfg, Problems: in.Problems, Origins: in.Origins}
	if len(parts) == 0 {
		return out
	}
	of := make(map[string]string, len(parts))
	for name, names := range parts {
		for _, p := range names {
			of[p] = name
		}
	}
	out.Origins = partOrigins{in: in.Origins, of: of}
	out.Problems = make([]config.Problem, 0, len(in.Problems))
	for _, p := range in.Problems {
		names := parts[p.Name]
		if p.Kind != config.KindRouter || len(names) == 0 {
			out.Problems = append(out.Problems, p)
			continue
		}
		for _, n := range names {
			p.Name = n
			out.Problems = append(out.Problems, p)
		}
	}
	return out
}

// partOrigins are the origins of a configuration whose routers were split
// by entry point: a part's origin is its router's.
type partOrigins struct {
	in config.Origins    // may be nil
	of map[string]string // part name -> the router it was split from
}

func (o partOrigins) Origin(id config.ObjectID) string {
	if o.in == nil {
		return ""
	}
	if id.Kind == config.KindRouter {
		if name, ok := o.of[id.Name]; ok {
			id.Name = name
		}
	}
	return o.in.Origin(id)
}
