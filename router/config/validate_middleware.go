package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// validateTransformMiddleware checks the options of the request and response
// transformation middlewares (authentication, headers, paths, redirects,
// compression, error pages). Fields name the option, e.g.
// basicAuth.users[1] or stripPrefixRegex.regex[0]. A middleware with more or
// fewer than one type already has its problem and is not looked into.
func validateTransformMiddleware(name string, m *Middleware, add func(Kind, string, string, string, ...any)) {
	if m.typeCount() != 1 {
		return
	}
	bad := func(field, format string, args ...any) { add(KindMiddleware, name, field, format, args...) }
	checkRegex := func(field, expr string) {
		if expr == "" {
			bad(field, "empty regular expression")
		} else if _, err := regexp.Compile(expr); err != nil {
			bad(field, "invalid regular expression: %v", err)
		}
	}
	if a := m.BasicAuth; a != nil {
		if len(a.Users) == 0 && a.UsersFile == "" {
			bad("basicAuth.users", "no users and no usersFile")
		}
		for i, line := range a.Users {
			if err := checkHtpasswdLine(line); err != nil {
				bad(fmt.Sprintf("basicAuth.users[%d]", i), "%v", err)
			}
		}
	}
	if f := m.ForwardAuth; f != nil {
		if u, err := url.Parse(f.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("forwardAuth.address", "want an http:// or https:// URL, got %q", f.Address)
		}
		if f.AuthResponseHeadersRegex != "" {
			checkRegex("forwardAuth.authResponseHeadersRegex", f.AuthResponseHeadersRegex)
		}
		if f.TLS != nil && (f.TLS.Cert == "") != (f.TLS.Key == "") {
			bad("forwardAuth.tls", "cert and key go together")
		}
	}
	if h := m.Headers; h != nil {
		for _, k := range sortedHeaderNames(h.CustomRequestHeaders) {
			if !isHeaderToken(k) {
				bad("headers.customRequestHeaders", "invalid header name %q", k)
			}
		}
		for _, k := range sortedHeaderNames(h.CustomResponseHeaders) {
			if !isHeaderToken(k) {
				bad("headers.customResponseHeaders", "invalid header name %q", k)
			}
		}
		for i, expr := range h.AccessControlAllowOriginListRegex {
			checkRegex(fmt.Sprintf("headers.accessControlAllowOriginListRegex[%d]", i), expr)
		}
		if h.AccessControlMaxAge < 0 {
			bad("headers.accessControlMaxAge", "negative value %d", h.AccessControlMaxAge)
		}
		if h.STSSeconds < 0 {
			bad("headers.stsSeconds", "negative value %d", h.STSSeconds)
		}
	}
	if s := m.StripPrefix; s != nil {
		if len(s.Prefixes) == 0 {
			bad("stripPrefix.prefixes", "no prefix")
		}
		for i, p := range s.Prefixes {
			if p == "" {
				bad(fmt.Sprintf("stripPrefix.prefixes[%d]", i), "empty prefix")
			}
		}
	}
	if s := m.StripPrefixRegex; s != nil {
		if len(s.Regex) == 0 {
			bad("stripPrefixRegex.regex", "no expression")
		}
		for i, expr := range s.Regex {
			checkRegex(fmt.Sprintf("stripPrefixRegex.regex[%d]", i), expr)
		}
	}
	if a := m.AddPrefix; a != nil && a.Prefix == "" {
		bad("addPrefix.prefix", "empty prefix")
	}
	if p := m.ReplacePath; p != nil && p.Path == "" {
		bad("replacePath.path", "empty path")
	}
	if p := m.ReplacePathRegex; p != nil {
		checkRegex("replacePathRegex.regex", p.Regex)
	}
	if r := m.RedirectScheme; r != nil {
		if s := strings.ToLower(r.Scheme); s != "http" && s != "https" {
			bad("redirectScheme.scheme", "want http or https, got %q", r.Scheme)
		}
		if r.Port != "" {
			if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
				bad("redirectScheme.port", "invalid port %q", r.Port)
			}
		}
	}
	if r := m.RedirectRegex; r != nil {
		checkRegex("redirectRegex.regex", r.Regex)
		if r.Replacement == "" {
			bad("redirectRegex.replacement", "empty replacement")
		}
	}
	if cm := m.Compress; cm != nil {
		if cm.MinResponseBodyBytes < 0 {
			bad("compress.minResponseBodyBytes", "negative value %d", cm.MinResponseBodyBytes)
		}
		for i, t := range cm.ExcludedContentTypes {
			if !strings.Contains(t, "/") {
				bad(fmt.Sprintf("compress.excludedContentTypes[%d]", i), "invalid media type %q", t)
			}
		}
		for i, e := range cm.Encodings {
			switch strings.ToLower(strings.TrimSpace(e)) {
			case "gzip", "br", "zstd":
			default:
				bad(fmt.Sprintf("compress.encodings[%d]", i), "unknown encoding %q (want gzip, br or zstd)", e)
			}
		}
	}
	if e := m.Errors; e != nil {
		if len(e.Status) == 0 {
			bad("errors.status", "no status")
		}
		for i, s := range e.Status {
			if !isStatusOrRange(s) {
				bad(fmt.Sprintf("errors.status[%d]", i), "invalid status or range %q (want e.g. 404 or 500-599)", s)
			}
		}
		if e.Service == "" {
			bad("errors.service", "missing")
		}
	}
}

// validateMiddlewareRefs checks that the service of an errors middleware
// exists in c.
func validateMiddlewareRefs(c *Config, name string, m *Middleware, add func(Kind, string, string, string, ...any)) {
	if m.typeCount() != 1 || m.Errors == nil || m.Errors.Service == "" {
		return
	}
	if _, ok := c.HTTP.Services[m.Errors.Service]; !ok {
		add(KindMiddleware, name, "errors.service", "service %q does not exist", m.Errors.Service)
	}
}

// checkHtpasswdLine checks the shape of "user:hash" with a supported hash
// (bcrypt, {SHA}, $apr1$, $1$); the router verifies the details.
func checkHtpasswdLine(line string) error {
	user, hash, ok := strings.Cut(line, ":")
	if !ok || user == "" || hash == "" {
		return fmt.Errorf(`invalid htpasswd line: want "user:hash"`)
	}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if len(hash) != 60 {
			return fmt.Errorf("user %q: invalid bcrypt hash", user)
		}
	case strings.HasPrefix(hash, "{SHA}"):
		if raw, err := base64.StdEncoding.DecodeString(hash[5:]); err != nil || len(raw) != 20 {
			return fmt.Errorf("user %q: invalid {SHA} hash", user)
		}
	case strings.HasPrefix(hash, "$apr1$"), strings.HasPrefix(hash, "$1$"):
		parts := strings.Split(hash, "$") // "", "apr1", salt, digest
		if len(parts) != 4 || parts[2] == "" || len(parts[2]) > 8 || len(parts[3]) != 22 {
			return fmt.Errorf("user %q: invalid MD5-crypt hash", user)
		}
	default:
		return fmt.Errorf("user %q: unsupported hash (want bcrypt, {SHA}, $apr1$ or $1$)", user)
	}
	return nil
}

// isStatusOrRange reports whether s is a status code or a from-to range of them.
func isStatusOrRange(s string) bool {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err := strconv.Atoi(strings.TrimSpace(from))
	if err != nil {
		return false
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(to)); err != nil {
			return false
		}
	}
	return lo >= 100 && hi <= 599 && lo <= hi
}

// isHeaderToken reports whether k is a valid HTTP header name (a token).
func isHeaderToken(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// sortedHeaderNames returns m's keys in order, for deterministic problems.
func sortedHeaderNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
