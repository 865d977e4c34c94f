package router

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferryproxy/ferry/router/entrypoint"
)

// sniSelection is which TLS configuration the handshakes of one entry
// point get, by server name: a map lookup on the live table.
type sniSelection struct {
	exact    map[string]*tls.Config
	wildcard map[string]*tls.Config // "example.com" for *.example.com
	def      *tls.Config            // names no router claims
}

func (s *sniSelection) add(host string, c *tls.Config) {
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		if s.wildcard == nil {
			s.wildcard = make(map[string]*tls.Config)
		}
		s.wildcard[rest] = c
		return
	}
	if s.exact == nil {
		s.exact = make(map[string]*tls.Config)
	}
	s.exact[host] = c
}

// lookup returns the configuration for a canonical server name.
func (s *sniSelection) lookup(name string) *tls.Config {
	if c := s.exact[name]; c != nil {
		return c
	}
	if s.wildcard != nil {
		if i := strings.IndexByte(name, '.'); i >= 0 {
			if c := s.wildcard[name[i+1:]]; c != nil {
				return c
			}
		}
	}
	return s.def
}

// varies reports whether some name gets other options than the default.
func (s *sniSelection) varies() bool { return len(s.exact) > 0 || len(s.wildcard) > 0 }

// tlsSelection returns the selection of entry point ep, nil when its
// handshakes all get the entry point's own configuration.
func (t *Table) tlsSelection(ep int) *sniSelection {
	if t.tls == nil || ep >= len(t.tls.entries) {
		return nil
	}
	return t.tls.entries[ep]
}

// TLSConfigForClient returns the GetConfigForClient of entry point ep's
// TLS configuration (entrypoint.Options.TLSConfigForClient): for each
// ClientHello, the configuration of the TLS options chosen for its server
// name on the live table, precomputed by Build. ACME TLS-ALPN-01
// validations, and every handshake while no TLS options are configured,
// get the entry point's own configuration.
func (s *Switcher) TLSConfigForClient(ep int) entrypoint.ConfigFunc {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		sel := s.table.Load().tlsSelection(ep)
		if sel == nil || entrypoint.IsACMEChallenge(hello) {
			return nil, nil
		}
		return sel.lookup(canonicalName(hello.ServerName)), nil
	}
}

// errNoServerName refuses a handshake without SNI under sniStrict.
var errNoServerName = errors.New("strict SNI: the client sent no server name")

// StrictCertificate is GetCertificate for TLS options with sniStrict: a
// handshake whose server name is missing, or covered by no certificate
// (configured, obtained, or the default store's), is refused instead of
// getting a default certificate.
func (s *Switcher) StrictCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := canonicalName(hello.ServerName)
	if name == "" {
		return nil, errNoServerName
	}
	c, err := s.GetCertificate(hello)
	if err != nil {
		return nil, err
	}
	if c == nil || c == s.defaultCert || !certCovers(c, name) {
		return nil, fmt.Errorf("strict SNI: no certificate for %q", name)
	}
	return c, nil
}

// fallbackCertificate is the certificate of a handshake that no
// certificate matches: the default store's generated one (ACME) once it is
// obtained, else its defaultCertificate, else the self-signed one.
func (s *Switcher) fallbackCertificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	ts := s.table.Load().tls
	if ts == nil {
		return s.defaultCert
	}
	if ts.generated != "" && s.certSource != nil && hello != nil {
		h := *hello
		h.ServerName = ts.generated
		if c, err := s.certSource.GetCertificate(&h); err == nil && c != nil {
			return c
		}
	}
	if ts.storeCert != nil {
		return ts.storeCert
	}
	return s.defaultCert
}

// certCovers reports whether c's names cover the canonical server name
// (exactly, or by a wildcard one label deep). A certificate whose leaf is
// not parsed is taken at its word.
func certCovers(c *tls.Certificate, name string) bool {
	if c.Leaf == nil {
		return true
	}
	for _, n := range c.Leaf.DNSNames {
		if strings.EqualFold(n, name) {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if i := strings.IndexByte(name, '.'); i > 0 && strings.EqualFold(rest, name[i+1:]) {
				return true
			}
		}
	}
	return false
}

// canonicalName lower-cases a server name and drops a trailing dot,
// allocating only when it has to change.
func canonicalName(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// misdirected reports whether a request on a TLS connection names a host
// whose TLS options differ from those of its connection's server name
// (which the handshake used). Such requests are answered 421, as Traefik
// does, so that a connection made for a name without client certificates
// cannot reach a router that asks for them (domain fronting). host is the
// request's normalised host.
func (t *Table) misdirected(ep int, host string, r *http.Request) bool {
	if r.TLS == nil {
		return false
	}
	sel := t.tlsSelection(ep)
	if sel == nil || !sel.varies() {
		return false
	}
	sni := canonicalName(r.TLS.ServerName)
	return sni != host && sel.lookup(sni) != sel.lookup(host)
}

// withoutClientAuth reports whether route rt asks, on entry point ep, for
// client certificates that the request's connection was not asked for: its
// handshake used other options (the options of its server name, or the
// default ones when the routers of its host disagree or its rule names no
// host). Such requests are answered 421: a router is never served with
// weaker settings than it asks for.
func (t *Table) withoutClientAuth(ep int, rt *route, r *http.Request) bool {
	if r.TLS == nil || ep >= len(rt.clientAuth) || rt.clientAuth[ep] == nil {
		return false
	}
	var used *tls.Config
	if sel := t.tlsSelection(ep); sel != nil {
		used = sel.lookup(canonicalName(r.TLS.ServerName))
	}
	return used != rt.clientAuth[ep]
}

// Headers in which passTLSClientCert passes the client's certificate.
const (
	headerClientCert     = "X-Forwarded-Tls-Client-Cert"
	headerClientCertInfo = "X-Forwarded-Tls-Client-Cert-Info"
)

// stripClientCertHeaders removes the client certificate headers a client
// sent: only passTLSClientCert sets them, from the verified connection,
// and nothing a client sends may pose as them (to a rule, a middleware or
// a server), whoever the client is. Two map deletions: the per-request
// cost stays flat; passTLSClientCert also removes spellings with
// underscores, which CGI-style servers read as the same header.
func stripClientCertHeaders(h http.Header) {
	delete(h, headerClientCert)
	delete(h, headerClientCertInfo)
}
