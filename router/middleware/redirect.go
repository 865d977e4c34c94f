package middleware

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// redirectStatus is the status of a redirect: permanent or not, and
// method-preserving (307/308) for anything but GET and HEAD.
func redirectStatus(permanent bool, method string) int {
	safe := method == http.MethodGet || method == http.MethodHead
	switch {
	case permanent && safe:
		return http.StatusMovedPermanently
	case permanent:
		return http.StatusPermanentRedirect
	case safe:
		return http.StatusFound
	}
	return http.StatusTemporaryRedirect
}

// redirect answers with a Location and a short body, as http.Redirect but
// without rewriting the target.
func redirect(w http.ResponseWriter, target string, code int) {
	h := w.Header()
	h["Location"] = []string{target}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(http.StatusText(code) + "\n"))
}

// requestScheme is the scheme the client used: https over TLS, else what
// a trusted proxy in front said in X-Forwarded-Proto (the entry point
// removes the header from anyone else), else http.
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if v := r.Header["X-Forwarded-Proto"]; len(v) > 0 && strings.EqualFold(strings.TrimSpace(v[0]), "https") {
		return "https"
	}
	return "http"
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

func newRedirectScheme(c *config.RedirectScheme) (Wrapper, error) {
	scheme := strings.ToLower(c.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("redirectScheme.scheme: want http or https, got %q", c.Scheme)
	}
	port := c.Port
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redirectScheme.port: invalid port %q", c.Port)
		}
		if port == defaultPort(scheme) {
			port = ""
		}
	}
	permanent := c.Permanent
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, reqPort := r.Host, ""
			if h, p, err := net.SplitHostPort(r.Host); err == nil {
				host, reqPort = h, p
			}
			if requestScheme(r) == scheme && (port == "" || reqPort == port) {
				next.ServeHTTP(w, r)
				return
			}
			if strings.IndexByte(host, ':') >= 0 && host[0] != '[' { // IPv6 literal
				host = "[" + host + "]"
			}
			target := scheme + "://" + host
			if port != "" {
				target += ":" + port
			}
			redirect(w, target+r.URL.RequestURI(), redirectStatus(permanent, r.Method))
		})
	}, nil
}

func newRedirectRegex(c *config.RedirectRegex) (Wrapper, error) {
	re, err := compileRegex("redirectRegex.regex", c.Regex)
	if err != nil {
		return nil, err
	}
	if c.Replacement == "" {
		return nil, fmt.Errorf("redirectRegex.replacement: empty replacement")
	}
	repl, permanent := c.Replacement, c.Permanent
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := requestScheme(r) + "://" + r.Host + r.URL.RequestURI()
			if !re.MatchString(u) {
				next.ServeHTTP(w, r)
				return
			}
			target := re.ReplaceAllString(u, repl)
			if target == u { // no loop on a replacement that yields the same URL
				next.ServeHTTP(w, r)
				return
			}
			redirect(w, target, redirectStatus(permanent, r.Method))
		})
	}, nil
}
