package config

import (
	"net/url"
	"strings"
)

// This file is the one place where secrets are taken out of what Ferry
// shows: the API (Config.Redacted and the per-object methods it uses), log
// lines and error messages (RedactText, RedactURL).
//
// Secrets are:
//   - private keys: a key field (tls.certificates and tls.stores
//     defaultCertificate keyFile, forwardAuth
//     tls.key, the certificates keyFile of HTTP and TCP serversTransports)
//     holding PEM text rather than a file path, and any PEM
//     PRIVATE KEY block in any text (a certFile holding both, a message);
//   - header values of headers middlewares (customRequestHeaders,
//     customResponseHeaders) and health check probes whose header name is
//     a credential's (IsSecretName);
//   - the password of user:password@ in any URL (servers, forwardAuth
//     address, health checks) and URL query values whose parameter name is
//     a credential's (?token=…, ?api_key=…);
//   - the password hashes of basicAuth and digestAuth users (the user
//     names and realms stay).
//
// Paths of key files, user names and header names are not secrets: they
// are shown, so users can tell what is configured.

// RedactedText replaces every secret Ferry shows or logs.
const RedactedText = "<redacted>"

// secretWords are parts of a header or query parameter name that mark its
// value as a credential: Authorization, Proxy-Authorization, X-Auth-Token,
// Cookie, Set-Cookie, X-Client-Secret, X-Session-Id, password=, apikey=…
var secretWords = [...]string{"auth", "token", "secret", "passw", "cookie", "session", "credential", "apikey", "signature", "jwt"}

// secretParts are whole dash-, underscore- or dot-separated parts of a name
// that mark a credential: X-Api-Key, Key, api_key, pwd, pass, sig.
var secretParts = [...]string{"key", "pass", "pwd", "sig"}

// IsSecretName reports whether the value of a header or URL query
// parameter named name is a credential. It is true when the name, in any
// case, contains auth, token, secret, passw, cookie, session, credential,
// apikey, signature or jwt (Authorization, Proxy-Authorization,
// X-Auth-Token, Cookie, Set-Cookie, X-Client-Secret, XSRF-Token,
// access_token), or has key, pass, pwd or sig as a whole part between
// dashes, underscores or dots (X-Api-Key, api_key, X-Key-Id).
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	for part := range strings.FieldsFuncSeq(n, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		for _, p := range secretParts {
			if part == p {
				return true
			}
		}
	}
	return false
}

// Redacted returns c with every secret replaced by RedactedText, for
// showing. c is not modified. The copy has maps of its own but shares the
// objects that hold no secret with c: treat it as read-only.
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	out := *c // a section added later is shown as is; TestRedactedCoversSecretFields looks into it
	out.HTTP.Routers = copyMap(c.HTTP.Routers, nil)
	out.HTTP.Services = copyMap(c.HTTP.Services, (*Service).Redacted)
	out.HTTP.Middlewares = copyMap(c.HTTP.Middlewares, (*Middleware).Redacted)
	out.TCP.Routers, out.TCP.Services = copyMap(c.TCP.Routers, nil), copyMap(c.TCP.Services, nil)
	out.TCP.Middlewares = copyMap(c.TCP.Middlewares, nil)
	out.HTTP.ServersTransports = copyMap(c.HTTP.ServersTransports, (*ServersTransport).Redacted)
	out.TCP.ServersTransports = copyMap(c.TCP.ServersTransports, (*TCPServersTransport).Redacted)
	out.UDP.Routers, out.UDP.Services = copyMap(c.UDP.Routers, nil), copyMap(c.UDP.Services, nil)
	out.TLS = c.TLS.Redacted()
	return &out
}

// copyMap returns a new map with m's entries, each passed through redact
// when it is not nil; a nil map stays nil.
func copyMap[V any](m map[string]V, redact func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		if redact != nil {
			v = redact(v)
		}
		out[k] = v
	}
	return out
}

// Redacted returns the certificates (tls.certificates and the stores' default
// certificates) with inline private keys replaced.
func (t TLS) Redacted() TLS {
	t.Stores = redactedStores(t.Stores) // stores' default certificates (tlsoptions.go)
	if len(t.Certificates) == 0 {
		return t
	}
	out := t
	out.Certificates = make([]Certificate, len(t.Certificates))
	for i, c := range t.Certificates {
		c.CertFile, c.KeyFile = RedactText(c.CertFile), redactKey(c.KeyFile)
		out.Certificates[i] = c
	}
	return out
}

// Redacted returns s with the passwords of its URLs and its probes' secret
// headers replaced; s itself when it holds none.
func (s *Service) Redacted() *Service {
	if s == nil || s.LoadBalancer == nil {
		return s
	}
	lb := *s.LoadBalancer
	changed := false
	for i, srv := range lb.Servers {
		if u := RedactURL(srv.URL); u != srv.URL {
			if !changed {
				lb.Servers = append([]Server(nil), lb.Servers...)
				changed = true
			}
			lb.Servers[i].URL = u
		}
	}
	if hc := lb.HealthCheck; hc != nil {
		headers, redacted := redactHeaders(hc.Headers)
		path := RedactURL(hc.Path)
		if redacted || path != hc.Path {
			c := *hc
			c.Headers, c.Path, lb.HealthCheck, changed = headers, path, &c, true
		}
	}
	if !changed {
		return s
	}
	cp := *s
	cp.LoadBalancer = &lb
	return &cp
}

// Redacted returns m with its secrets replaced: the password hashes of
// basicAuth users, credential headers set by headers, the password of the
// forwardAuth address and an inline forwardAuth TLS key. m itself is
// returned when it holds none.
func (m *Middleware) Redacted() *Middleware {
	if m == nil {
		return nil
	}
	cp := *m
	changed := false
	if a := m.BasicAuth; a != nil && len(a.Users) > 0 {
		b := *a
		b.Users = make([]string, len(a.Users))
		for i, u := range a.Users {
			name, _, _ := strings.Cut(u, ":")
			b.Users[i] = name + ":" + RedactedText
		}
		cp.BasicAuth, changed = &b, true
	}
	if a := m.DigestAuth; a != nil && len(a.Users) > 0 {
		d := *a
		d.Users = redactDigestUsers(a.Users) // middleware_digest.go
		cp.DigestAuth, changed = &d, true
	}
	if h := m.Headers; h != nil {
		req, r1 := redactHeaders(h.CustomRequestHeaders)
		resp, r2 := redactHeaders(h.CustomResponseHeaders)
		ssl, r3 := redactHeaders(h.SSLProxyHeaders)
		if r1 || r2 || r3 {
			c := *h
			c.CustomRequestHeaders, c.CustomResponseHeaders, c.SSLProxyHeaders = req, resp, ssl
			cp.Headers, changed = &c, true
		}
	}
	if f := m.ForwardAuth; f != nil {
		addr := RedactURL(f.Address)
		var tls *ClientTLS
		if f.TLS != nil && redactKey(f.TLS.Key) != f.TLS.Key {
			t := *f.TLS
			t.Key = redactKey(t.Key)
			tls = &t
		}
		if addr != f.Address || tls != nil {
			c := *f
			c.Address = addr
			if tls != nil {
				c.TLS = tls
			}
			cp.ForwardAuth, changed = &c, true
		}
	}
	if r := m.RedirectRegex; r != nil {
		if repl := RedactURL(r.Replacement); repl != r.Replacement {
			c := *r
			c.Replacement = repl
			cp.RedirectRegex, changed = &c, true
		}
	}
	if !changed {
		return m
	}
	return &cp
}

// Redacted returns p with the secrets in its message replaced.
func (p Problem) Redacted() Problem {
	p.Message = RedactText(p.Message)
	return p
}

// redactHeaders returns h with the values of credential headers replaced
// (an empty value, which removes the header, stays empty), and whether it
// replaced any; h itself when there is none.
func redactHeaders(h map[string]string) (map[string]string, bool) {
	var out map[string]string
	for k, v := range h {
		if v == "" || !IsSecretName(k) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(h))
			for k2, v2 := range h {
				out[k2] = v2
			}
		}
		out[k] = RedactedText
	}
	if out == nil {
		return h, false
	}
	return out, true
}

// redactKey returns a key field for showing: a file path as is, anything
// else (PEM text, several lines) replaced.
func redactKey(v string) string {
	if v == "" || (!strings.Contains(v, "-----") && !strings.ContainsAny(v, "\r\n")) {
		return v
	}
	return RedactedText
}

// RedactURL returns raw with the password of its user information
// (scheme://user:password@host) and the values of its credential query
// parameters (IsSecretName) replaced. raw need not be a valid URL: one that
// does not parse, e.g. with an unescaped / in its password, has everything
// between the first : after the scheme and the last @ replaced. A string
// with no secret is returned as is.
func RedactURL(raw string) string {
	out := raw
	if i := strings.Index(out, "://"); i >= 0 {
		out = out[:i+3] + redactUserinfo(out[i+3:], raw)
	}
	if q := strings.IndexByte(out, '?'); q >= 0 {
		out = out[:q+1] + redactQuery(out[q+1:])
	}
	return out
}

// redactUserinfo redacts the password in rest, the part of a URL after
// "scheme://"; raw is the whole URL.
func redactUserinfo(rest, raw string) string {
	if !strings.Contains(rest, "@") {
		return rest
	}
	end := strings.IndexAny(rest, "/?#")
	if _, err := url.Parse(raw); err != nil || end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return rest
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 || colon == at-1 {
		return rest // a user name only, or an empty password
	}
	return rest[:colon+1] + RedactedText + rest[at:]
}

// redactQuery redacts the values of credential parameters in a URL's
// query (and keeps its #fragment).
func redactQuery(q string) string {
	query, frag, hasFrag := strings.Cut(q, "#")
	params := strings.Split(query, "&")
	changed := false
	for i, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if IsSecretName(name) {
			params[i], changed = k+"="+RedactedText, true
		}
	}
	if !changed {
		return q
	}
	out := strings.Join(params, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// RedactText returns s, free text such as an error message or a log
// field, with its secrets replaced: PEM private key blocks, the token after
// "Bearer ", and the passwords and credential query values of the URLs in
// it (RedactURL). Text with none is returned as is, cheaply.
func RedactText(s string) string {
	if strings.Contains(s, "-----BEGIN") {
		s = redactPEM(s)
	}
	if strings.Contains(s, "Bearer ") {
		s = redactBearer(s)
	}
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i
		for start > 0 && isSchemeByte(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !isURLEnd(rest[end]) {
			end++
		}
		b.WriteString(rest[:start])
		b.WriteString(RedactURL(rest[start:end]))
		rest = rest[end:]
	}
	b.WriteString(rest)
	return b.String()
}

// redactPEM replaces every PEM block whose label names a private key (RSA
// PRIVATE KEY, EC PRIVATE KEY, PRIVATE KEY, ENCRYPTED PRIVATE KEY…) up to
// its END line, or to the end of s when that is missing.
func redactPEM(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "-----BEGIN ")
		if i < 0 {
			break
		}
		labelStart := i + len("-----BEGIN ")
		j := strings.Index(rest[labelStart:], "-----")
		if j < 0 {
			break
		}
		label := rest[labelStart : labelStart+j]
		after := labelStart + j + len("-----")
		if !strings.Contains(label, "PRIVATE KEY") {
			b.WriteString(rest[:after])
			rest = rest[after:]
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString(RedactedText)
		endMark := "-----END " + label + "-----"
		k := strings.Index(rest[after:], endMark)
		if k < 0 {
			rest = ""
			break
		}
		rest = rest[after+k+len(endMark):]
	}
	b.WriteString(rest)
	return b.String()
}

// redactBearer replaces the token after every "Bearer ".
func redactBearer(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "Bearer ")
		if i < 0 {
			break
		}
		start := i + len("Bearer ")
		end := start
		for end < len(rest) && !isURLEnd(rest[end]) {
			end++
		}
		b.WriteString(rest[:start])
		if end > start {
			b.WriteString(RedactedText)
		}
		rest = rest[end:]
	}
	b.WriteString(rest)
	return b.String()
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// isURLEnd reports whether c ends a URL inside free text: white space,
// quotes, angle brackets and the backslash of an escaped quote.
func isURLEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', '<', '>', '\\':
		return true
	}
	return false
}
