// Package middleware builds the HTTP middlewares that transform requests and
// responses: authentication, headers, paths and redirects, compression and
// error pages. Each is built once per configuration, never per request:
// regular expressions are compiled, users parsed and header lists
// canonicalised by New, so the request path only reads.
package middleware

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// ErrNotSupported is returned for a middleware type this package does not build.
var ErrNotSupported = errors.New("middleware type not supported")

// Options are what middlewares may need from the router.
type Options struct {
	// Name is the middleware's qualified name, for logs and errors.
	Name string
	// Log is the middleware's logger.
	Log *zap.Logger
	// Service returns the handler of a service by qualified name (for error pages).
	Service func(name string) (http.Handler, bool)
}

// Wrapper wraps the next handler of a chain.
type Wrapper = func(http.Handler) http.Handler

// New builds the middleware def describes. State the middleware keeps
// (caches, counters) belongs to the returned function, so reusing it for a
// new chain keeps that state; the wrapped handlers it returns are cheap.
// Errors name the option at fault, e.g. "basicAuth.users[1]: ...".
func New(def *config.Middleware, opts Options) (Wrapper, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	switch {
	case def.BasicAuth != nil:
		return newBasicAuth(def.BasicAuth, opts)
	case def.DigestAuth != nil:
		return newDigestAuth(def.DigestAuth, opts)
	case def.ForwardAuth != nil:
		return newForwardAuth(def.ForwardAuth, opts)
	case def.Headers != nil:
		return newHeaders(def.Headers)
	case def.StripPrefix != nil:
		return newStripPrefix(def.StripPrefix)
	case def.StripPrefixRegex != nil:
		return newStripPrefixRegex(def.StripPrefixRegex)
	case def.AddPrefix != nil:
		return newAddPrefix(def.AddPrefix)
	case def.ReplacePath != nil:
		return newReplacePath(def.ReplacePath)
	case def.ReplacePathRegex != nil:
		return newReplacePathRegex(def.ReplacePathRegex)
	case def.RedirectScheme != nil:
		return newRedirectScheme(def.RedirectScheme)
	case def.RedirectRegex != nil:
		return newRedirectRegex(def.RedirectRegex)
	case def.Compress != nil:
		return newCompress(def.Compress)
	case def.Errors != nil:
		return newErrorPages(def.Errors, opts)
	case def.PassTLSClientCert != nil:
		return newPassTLSClientCert(def.PassTLSClientCert) // passtlsclientcert.go
	}
	return nil, ErrNotSupported
}
