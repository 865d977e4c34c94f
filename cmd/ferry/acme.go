package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/acme"
	"github.com/ferryproxy/ferry/router"
)

// CertResolverConfig is one certificate resolver.
type CertResolverConfig struct {
	// ACME obtains certificates from an ACME CA (Let's Encrypt by default).
	ACME *acme.Config `json:"acme"`
}

// Redirections are an entry point's redirections.
type Redirections struct {
	// EntryPoint redirects every plain HTTP request to another entry point,
	// except ACME HTTP-01 challenge requests.
	EntryPoint *RedirectEntryPoint `json:"entryPoint"`
}

// RedirectEntryPoint redirects requests to another entry point.
type RedirectEntryPoint struct {
	// To is the target entry point's name, or a port such as ":443".
	To string `json:"to"`
	// Scheme of the target URL (default https).
	Scheme string `json:"scheme"`
	// Permanent answers 301/308 rather than 302/307 (default true).
	Permanent *bool `json:"permanent"`
}

// checkACME checks the certificate resolvers and redirections and
// resolves the resolvers' paths against dir.
func checkACME(s *Static, name, dir string) []string {
	var problems []string
	addrs := entryPointAddresses(s)
	for _, rn := range sortedNames(s.CertificatesResolvers) {
		r := s.CertificatesResolvers[rn]
		if r == nil || r.ACME == nil {
			problems = append(problems, fmt.Sprintf("%s: certificatesResolvers.%s.acme: missing", name, rn))
			continue
		}
		r.ACME.Resolve(dir)
		for _, p := range r.ACME.Check(rn, addrs) {
			problems = append(problems, name+": "+p)
		}
	}
	for _, epName := range sortedNames(s.EntryPoints) {
		ep := s.EntryPoints[epName]
		if ep == nil || ep.HTTP == nil || ep.HTTP.Redirections == nil || ep.HTTP.Redirections.EntryPoint == nil {
			continue
		}
		if _, err := redirectOf(s, ep.HTTP.Redirections.EntryPoint); err != nil {
			problems = append(problems, fmt.Sprintf("%s: entryPoints.%s.http.redirections.entryPoint: %v", name, epName, err))
		}
	}
	return problems
}

// entryPointAddresses returns the entry points' addresses by name.
func entryPointAddresses(s *Static) map[string]string {
	out := make(map[string]string, len(s.EntryPoints))
	for n, ep := range s.EntryPoints {
		if ep != nil {
			out[n] = ep.Address
		}
	}
	return out
}

// redirectOf turns a redirection into the router's form.
func redirectOf(s *Static, rd *RedirectEntryPoint) (router.Redirect, error) {
	out := router.Redirect{Scheme: rd.Scheme, Permanent: rd.Permanent == nil || *rd.Permanent}
	if out.Scheme == "" {
		out.Scheme = "https"
	}
	if out.Scheme != "http" && out.Scheme != "https" {
		return out, fmt.Errorf("scheme: %q is not http or https", rd.Scheme)
	}
	switch {
	case rd.To == "":
		return out, fmt.Errorf("to: missing")
	case strings.HasPrefix(rd.To, ":"):
		out.Port = rd.To[1:]
	default:
		ep := s.EntryPoints[rd.To]
		if ep == nil {
			return out, fmt.Errorf("to: entry point %q does not exist", rd.To)
		}
		_, port, err := net.SplitHostPort(ep.Address)
		if err != nil {
			return out, fmt.Errorf("to: entry point %s: %w", rd.To, err)
		}
		out.Port = port
	}
	return out, nil
}

// newACME makes the certificate manager, or nil when no resolver is
// configured.
func newACME(s *Static, log *zap.Logger) (*acme.Manager, error) {
	if len(s.CertificatesResolvers) == 0 {
		return nil, nil
	}
	resolvers := make(map[string]*acme.Config, len(s.CertificatesResolvers))
	for n, r := range s.CertificatesResolvers {
		resolvers[n] = r.ACME
	}
	return acme.New(log, acme.Options{Resolvers: resolvers, EntryPoints: entryPointAddresses(s)})
}

// plainHandler is what an entry point serves on plain connections: ACME
// HTTP-01 answers first, then the entry point's redirection, then routing.
func plainHandler(s *Static, epName string, routing http.Handler, mgr *acme.Manager) http.Handler {
	h := routing
	if ep := s.EntryPoints[epName]; ep.HTTP != nil && ep.HTTP.Redirections != nil && ep.HTTP.Redirections.EntryPoint != nil {
		if rd, err := redirectOf(s, ep.HTTP.Redirections.EntryPoint); err == nil {
			h = router.RedirectHandler(rd, h)
		}
	}
	if mgr != nil {
		h = mgr.HTTPHandler(epName, h)
	}
	return h
}
