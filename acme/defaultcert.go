package acme

import "github.com/ferryproxy/ferry/router/config"

// defaultGeneratedRouter is the certificate request of the default TLS
// store's defaultGeneratedCert, as if a router asked for its domain: the
// manager obtains, renews and serves it like any router's names, and the
// router package serves it (through GetCertificate with the domain as
// server name) to handshakes no certificate matches. Its status is listed
// under the name tls.stores.<store>.defaultGeneratedCert.
func defaultGeneratedRouter(cfg *config.Config) []tlsRouter {
	name, store, ok := cfg.TLS.DefaultTLSStore()
	if !ok || store.DefaultGeneratedCert == nil {
		return nil
	}
	g := store.DefaultGeneratedCert
	if g.Resolver == "" || g.Domain.Main == "" {
		return nil // config.Validate reports it
	}
	return []tlsRouter{{name: "tls.stores." + name + ".defaultGeneratedCert", resolver: g.Resolver, domains: []config.Domain{g.Domain}}}
}
