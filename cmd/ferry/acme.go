package main

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/acme"
	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/metrics"
)

// newACME makes the certificate manager, or nil when no resolver is
// configured.
func newACME(s *configs.Static, log *zap.Logger, reg *metrics.Registry) (*acme.Manager, error) {
	if len(s.CertificatesResolvers) == 0 {
		return nil, nil
	}
	resolvers := make(map[string]*acme.Config, len(s.CertificatesResolvers))
	for n, r := range s.CertificatesResolvers {
		resolvers[n] = r.ACME
	}
	opts := acme.Options{Resolvers: resolvers, EntryPoints: s.EntryPointAddresses()}
	if reg != nil {
		opts.OnOrder = reg.ACMEOrder
	}
	return acme.New(log, opts)
}

// plainHandler is what an entry point serves on plain connections: ACME
// HTTP-01 answers first, then the entry point's redirection, then routing.
func plainHandler(s *configs.Static, epName string, routing http.Handler, mgr *acme.Manager) http.Handler {
	h := routing
	if rd, ok, err := s.Redirect(epName); ok && err == nil {
		h = router.RedirectHandler(router.Redirect{Scheme: rd.Scheme, Port: rd.Port, Permanent: rd.Permanent}, h)
	}
	if mgr != nil {
		h = mgr.HTTPHandler(epName, h)
	}
	return h
}
