package router

import (
	"net"
	"net/http"
	"strings"
)

// acmeChallengePath is never redirected: the CA fetches HTTP-01 answers
// over plain HTTP.
const acmeChallengePath = "/.well-known/acme-challenge/"

// Redirect is an entry point's redirection of plain HTTP requests.
type Redirect struct {
	// Scheme of the target URL, e.g. "https".
	Scheme string
	// Port of the target URL; omitted when it is the scheme's default.
	Port string
	// Permanent answers 301/308 instead of 302/307.
	Permanent bool
}

// RedirectHandler answers every request with a redirection to the same
// host and path on rd's scheme and port, except requests for the ACME
// challenge path, which go to next.
func RedirectHandler(rd Redirect, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, acmeChallengePath) {
			next.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, redirectURL(rd, r), redirectStatus(rd.Permanent, r.Method))
	})
}

func redirectURL(rd Redirect, r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if rd.Port != "" && !(rd.Scheme == "https" && rd.Port == "443") && !(rd.Scheme == "http" && rd.Port == "80") {
		host += ":" + rd.Port
	}
	return rd.Scheme + "://" + host + r.URL.RequestURI()
}

// redirectStatus keeps the method for other than GET and HEAD.
func redirectStatus(permanent bool, method string) int {
	keep := method != http.MethodGet && method != http.MethodHead
	switch {
	case permanent && keep:
		return http.StatusPermanentRedirect
	case permanent:
		return http.StatusMovedPermanently
	case keep:
		return http.StatusTemporaryRedirect
	}
	return http.StatusFound
}
