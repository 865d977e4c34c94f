package config

import (
	"maps"
	"strings"
)

// Qualify returns name@provider, or name unchanged when it already names a
// provider (contains '@').
func Qualify(name, provider string) string {
	if name == "" || strings.Contains(name, "@") {
		return name
	}
	return name + "@" + provider
}

// Internal is the provider of Ferry's own services (api@internal,
// dashboard@internal, prometheus@internal, ping@internal) and of the
// routers Ferry adds for them.
const Internal = "internal"

// IsInternal reports whether name is one of Ferry's own services.
func IsInternal(name string) bool { return ProviderOf(name) == Internal }

// ProviderOf returns the provider part of a qualified name, "" if none.
func ProviderOf(name string) string {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// Qualified returns a copy of c in which every router, service and
// middleware name, and every reference to one, is qualified with provider.
// References that already name a provider (auth@file) are kept as written.
// c itself is not modified; unchanged leaf values are shared.
func (c *Config) Qualified(provider string) *Config {
	return c.QualifiedNext(provider, nil, nil)
}

// QualifiedNext is Qualified for a configuration that replaces prev, whose
// qualified form was prevOut (both nil when there is none). An HTTP router,
// service or middleware that is the very pointer prev holds under the same
// name keeps its qualified form from prevOut, so a change costs in
// proportion to what changed, and unchanged objects stay the same pointers
// from one qualified configuration to the next.
func (c *Config) QualifiedNext(provider string, prev, prevOut *Config) *Config {
	out := &Config{TLS: c.TLS}
	q := func(s string) string { return Qualify(s, provider) }
	out.TCP = qualifiedTCP(c.TCP, q)
	out.UDP = qualifiedUDP(c.UDP, q)
	var before, after HTTP
	if prev != nil && prevOut != nil {
		before, after = prev.HTTP, prevOut.HTTP
	}
	out.HTTP.Routers = qualifiedObjects(c.HTTP.Routers, before.Routers, after.Routers, provider,
		func(r *Router) *Router { return r.qualified(provider) })
	out.HTTP.Services = qualifiedObjects(c.HTTP.Services, before.Services, after.Services, provider,
		func(s *Service) *Service { return withQualifiedTransport(s.qualified(q), q) })
	out.HTTP.Middlewares = qualifiedObjects(c.HTTP.Middlewares, before.Middlewares, after.Middlewares, provider,
		func(m *Middleware) *Middleware { return m.qualified(q) })
	out.HTTP.ServersTransports = qualifiedTransports(c.HTTP.ServersTransports, q)
	out.TCP.ServersTransports = qualifiedTransports(c.TCP.ServersTransports, q)
	out.qualifyTLS(c, provider) // tls.options and tls.stores names, TCP routers' references (tlsoptions.go)
	return out
}

// qualifiedObjects returns in with names qualified by provider and each
// object by qualify; nil objects are left out. With prev (the map in
// replaces) and prevOut (its result), the result is prevOut's map copied
// and changed where in differs from prev, unless two names qualify alike.
func qualifiedObjects[T any](in, prev, prevOut map[string]*T, provider string, qualify func(*T) *T) map[string]*T {
	if len(in) == 0 {
		return nil
	}
	if prevOut != nil && len(prevOut) == len(prev) {
		// No two names of prev qualified alike (web and web@file): patch.
		if out, n := patchQualified(in, prev, prevOut, provider, qualify); len(out) == n {
			return out
		}
	}
	out := make(map[string]*T, len(in))
	for name, v := range in {
		if v != nil {
			out[Qualify(name, provider)] = qualify(v)
		}
	}
	return out
}

// patchQualified returns prevOut copied and changed where in differs from
// prev, and the number of objects in holds.
func patchQualified[T any](in, prev, prevOut map[string]*T, provider string, qualify func(*T) *T) (map[string]*T, int) {
	n := 0
	out := maps.Clone(prevOut)
	kept := 0
	for name, v := range in {
		if v != nil {
			n++
		}
		old, ok := prev[name]
		if ok {
			kept++
			if old == v {
				continue
			}
		}
		if v == nil {
			delete(out, Qualify(name, provider))
			continue
		}
		out[Qualify(name, provider)] = qualify(v)
	}
	if kept < len(prev) {
		for name := range prev {
			if _, ok := in[name]; !ok {
				delete(out, Qualify(name, provider))
			}
		}
	}
	return out, n
}

// qualified returns a copy of r whose service, middlewares and TLS options
// references are qualified with provider.
func (r *Router) qualified(provider string) *Router {
	cp := *r
	cp.Service = Qualify(r.Service, provider)
	if r.Middlewares != nil {
		cp.Middlewares = make([]string, len(r.Middlewares))
		for i, m := range r.Middlewares {
			cp.Middlewares[i] = Qualify(m, provider)
		}
	}
	if r.TLS != nil && r.TLS.Options != "" {
		if q := QualifyTLSOptions(r.TLS.Options, provider); q != r.TLS.Options {
			t := *r.TLS
			t.Options, cp.TLS = q, &t
		}
	}
	return &cp
}

// qualified returns a copy of m whose chain and errors service references
// are qualified by q.
func (m *Middleware) qualified(q func(string) string) *Middleware {
	cp := *m
	if m.Chain != nil {
		cp.Chain = &Chain{}
		if m.Chain.Middlewares != nil {
			cp.Chain.Middlewares = make([]string, len(m.Chain.Middlewares))
			for i, s := range m.Chain.Middlewares {
				cp.Chain.Middlewares[i] = q(s)
			}
		}
	}
	if m.Errors != nil {
		e := *m.Errors
		e.Service = q(e.Service)
		cp.Errors = &e
	}
	return &cp
}

// Merge copies every object of src into dst. Names are expected to be
// qualified already, so they cannot collide across providers.
func Merge(dst, src *Config) {
	mergeMap(&dst.HTTP.Routers, src.HTTP.Routers)
	mergeMap(&dst.HTTP.Services, src.HTTP.Services)
	mergeMap(&dst.HTTP.Middlewares, src.HTTP.Middlewares)
	mergeMap(&dst.HTTP.ServersTransports, src.HTTP.ServersTransports)
	mergeMap(&dst.TCP.ServersTransports, src.TCP.ServersTransports)
	mergeMap(&dst.TCP.Routers, src.TCP.Routers)
	mergeMap(&dst.TCP.Services, src.TCP.Services)
	mergeMap(&dst.TCP.Middlewares, src.TCP.Middlewares)
	mergeMap(&dst.UDP.Routers, src.UDP.Routers)
	mergeMap(&dst.UDP.Services, src.UDP.Services)
	dst.TLS.Certificates = append(dst.TLS.Certificates, src.TLS.Certificates...)
	mergeMap(&dst.TLS.Options, src.TLS.Options)
	mergeMap(&dst.TLS.Stores, src.TLS.Stores)
}

// mergeMap copies every entry of src into *dst, making *dst when needed.
func mergeMap[V any](dst *map[string]V, src map[string]V) {
	if len(src) > 0 && *dst == nil {
		*dst = make(map[string]V, len(src))
	}
	for k, v := range src {
		(*dst)[k] = v
	}
}
