package middleware

import (
	"net"
	"net/http"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// secureHosts holds the headers options Traefik took from unrolled/secure
// that act on the request rather than add a response header: allowedHosts
// (with hostsProxyHeaders), sslProxyHeaders, isDevelopment and the
// deprecated sslRedirect family. It is nil when none is set.
type secureHosts struct {
	allowed      map[string]bool // lower case, as written (with or without port)
	proxyHeaders []string        // canonical, tried in order
	sslProxy     []headerOp      // header and the value that marks HTTPS
	redirect     bool
	temporary    bool
	sslHost      string
	forceHost    bool
	dev          bool
}

// newSecureHosts compiles the options; nil when none is set.
func newSecureHosts(c *config.Headers) *secureHosts {
	if len(c.AllowedHosts) == 0 && len(c.SSLProxyHeaders) == 0 && !c.SSLRedirect && !c.SSLForceHost && !c.IsDevelopment {
		return nil
	}
	s := &secureHosts{redirect: c.SSLRedirect, temporary: c.SSLTemporaryRedirect, sslHost: c.SSLHost,
		forceHost: c.SSLForceHost, dev: c.IsDevelopment}
	if len(c.AllowedHosts) > 0 {
		s.allowed = make(map[string]bool, len(c.AllowedHosts))
		for _, h := range c.AllowedHosts {
			s.allowed[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	for _, h := range c.HostsProxyHeaders {
		s.proxyHeaders = append(s.proxyHeaders, http.CanonicalHeaderKey(h))
	}
	for _, k := range sortedKeys(c.SSLProxyHeaders) {
		s.sslProxy = append(s.sslProxy, headerOp{key: http.CanonicalHeaderKey(k), value: []string{c.SSLProxyHeaders[k]}})
	}
	return s
}

// host is the request's host: the first of hostsProxyHeaders present, else Host.
func (s *secureHosts) host(r *http.Request) string {
	for _, k := range s.proxyHeaders {
		if v := r.Header[k]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return r.Host
}

// isSSL reports whether the request came over HTTPS: a TLS connection, a
// trusted proxy's X-Forwarded-Proto: https (the entry point removes it from
// anyone else), or one of sslProxyHeaders with its value.
func (s *secureHosts) isSSL(r *http.Request) bool {
	if s == nil {
		return r.TLS != nil
	}
	if requestScheme(r) == "https" {
		return true
	}
	for _, op := range s.sslProxy {
		if v := r.Header[op.key]; len(v) > 0 && strings.EqualFold(v[0], op.value[0]) {
			return true
		}
	}
	return false
}

// development reports whether isDevelopment turns the checks off.
func (s *secureHosts) development() bool { return s != nil && s.dev }

// handle answers the request when it must not go on: 400 for a host not in
// allowedHosts, a redirect to https for sslRedirect and sslForceHost. It
// reports whether it answered.
func (s *secureHosts) handle(w http.ResponseWriter, r *http.Request) bool {
	if s.dev {
		return false
	}
	host := s.host(r)
	if s.allowed != nil && !s.allowedHost(host) {
		http.Error(w, "Bad Request: host not allowed", http.StatusBadRequest)
		return true
	}
	if !s.redirect && !s.forceHost {
		return false
	}
	target := host
	if s.sslHost != "" {
		target = s.sslHost
	}
	ssl := s.isSSL(r)
	if (s.redirect && !ssl) || (s.forceHost && target != host) {
		code := http.StatusMovedPermanently
		if s.temporary {
			code = http.StatusTemporaryRedirect
		}
		redirect(w, "https://"+target+r.URL.RequestURI(), code)
		return true
	}
	return false
}

// allowedHost matches host as written in allowedHosts, or without its port.
func (s *secureHosts) allowedHost(host string) bool {
	h := strings.ToLower(host)
	if s.allowed[h] {
		return true
	}
	if name, _, err := net.SplitHostPort(h); err == nil {
		return s.allowed[name]
	}
	return false
}
