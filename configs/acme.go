package configs

import (
	"fmt"
	"net"
	"strings"

	"github.com/ferryproxy/ferry/acme"
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

// RedirectTarget is a resolved entry-point redirection.
type RedirectTarget struct {
	// Scheme is http or https.
	Scheme string
	// Port is the target port.
	Port string
	// Permanent answers 301/308 rather than 302/307.
	Permanent bool
}

// checkACME checks the certificate resolvers and redirections and
// resolves the resolvers' paths against dir.
func checkACME(s *Static, name, dir string) []string {
	var problems []string
	addrs := s.EntryPointAddresses()
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
	for _, epName := range s.EntryPointNames() {
		if _, ok, err := s.Redirect(epName); ok && err != nil {
			problems = append(problems, fmt.Sprintf("%s: entryPoints.%s.http.redirections.entryPoint: %v", name, epName, err))
		}
	}
	return problems
}

// EntryPointAddresses returns the entry points' addresses by name.
func (s *Static) EntryPointAddresses() map[string]string {
	out := make(map[string]string, len(s.EntryPoints))
	for n, ep := range s.EntryPoints {
		if ep != nil {
			out[n] = ep.Address
		}
	}
	return out
}

// Redirect resolves the redirection of entry point epName; ok is false
// when it has none.
func (s *Static) Redirect(epName string) (target RedirectTarget, ok bool, err error) {
	ep := s.EntryPoints[epName]
	if ep == nil || ep.HTTP == nil || ep.HTTP.Redirections == nil || ep.HTTP.Redirections.EntryPoint == nil {
		return target, false, nil
	}
	rd := ep.HTTP.Redirections.EntryPoint
	out := RedirectTarget{Scheme: rd.Scheme, Permanent: rd.Permanent == nil || *rd.Permanent}
	if out.Scheme == "" {
		out.Scheme = "https"
	}
	if out.Scheme != "http" && out.Scheme != "https" {
		return out, true, fmt.Errorf("scheme: %q is not http or https", rd.Scheme)
	}
	switch {
	case rd.To == "":
		return out, true, fmt.Errorf("to: missing")
	case strings.HasPrefix(rd.To, ":"):
		out.Port = rd.To[1:]
	default:
		to := s.EntryPoints[rd.To]
		if to == nil {
			return out, true, fmt.Errorf("to: entry point %q does not exist", rd.To)
		}
		_, port, err := net.SplitHostPort(to.Address)
		if err != nil {
			return out, true, fmt.Errorf("to: entry point %s: %w", rd.To, err)
		}
		out.Port = port
	}
	return out, true, nil
}
