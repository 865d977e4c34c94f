package config

import "strings"

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
	out := &Config{TLS: c.TLS}
	out.TCP = qualifiedTCP(c.TCP, func(s string) string { return Qualify(s, provider) })
	out.UDP = qualifiedUDP(c.UDP, func(s string) string { return Qualify(s, provider) })
	q := func(s string) string { return Qualify(s, provider) }
	qs := func(in []string) []string {
		if in == nil {
			return nil
		}
		res := make([]string, len(in))
		for i, s := range in {
			res[i] = q(s)
		}
		return res
	}
	if len(c.HTTP.Routers) > 0 {
		out.HTTP.Routers = make(map[string]*Router, len(c.HTTP.Routers))
		for name, r := range c.HTTP.Routers {
			if r == nil {
				continue
			}
			cp := *r
			cp.Service = q(r.Service)
			cp.Middlewares = qs(r.Middlewares)
			out.HTTP.Routers[q(name)] = &cp
		}
	}
	if len(c.HTTP.Services) > 0 {
		out.HTTP.Services = make(map[string]*Service, len(c.HTTP.Services))
		for name, s := range c.HTTP.Services {
			if s == nil {
				continue
			}
			out.HTTP.Services[q(name)] = withQualifiedTransport(s.qualified(q), q)
		}
	}
	out.HTTP.ServersTransports = qualifiedTransports(c.HTTP.ServersTransports, q)
	out.TCP.ServersTransports = qualifiedTransports(c.TCP.ServersTransports, q)
	if len(c.HTTP.Middlewares) > 0 {
		out.HTTP.Middlewares = make(map[string]*Middleware, len(c.HTTP.Middlewares))
		for name, m := range c.HTTP.Middlewares {
			if m == nil {
				continue
			}
			cp := *m
			if m.Chain != nil {
				cp.Chain = &Chain{Middlewares: qs(m.Chain.Middlewares)}
			}
			if m.Errors != nil {
				e := *m.Errors
				e.Service = q(e.Service)
				cp.Errors = &e
			}
			out.HTTP.Middlewares[q(name)] = &cp
		}
	}
	out.qualifyTLS(c, provider) // tls.options and tls.stores names and references (tlsoptions.go)
	return out
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
