package configs

import "github.com/ferryproxy/ferry/router/config"

// TLSOptions returns the TLS options the entry point gives its routers
// that name none (http.tls.options), "" for the default ones.
func (ep *EntryPointConfig) TLSOptions() string {
	if ep == nil || ep.HTTP == nil || ep.HTTP.TLS == nil {
		return ""
	}
	return ep.HTTP.TLS.Options
}

// RouterDefaults returns what the entry point gives every HTTP router on
// it: middlewares first, and the tls section of routers that have none.
func (ep *EntryPointConfig) RouterDefaults() (middlewares []string, certResolver string, domains []config.Domain) {
	if ep == nil || ep.HTTP == nil {
		return nil, "", nil
	}
	if t := ep.HTTP.TLS; t != nil {
		certResolver, domains = t.CertResolver, t.Domains
	}
	return ep.HTTP.Middlewares, certResolver, domains
}
