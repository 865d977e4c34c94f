// Package middleware builds the HTTP middlewares that transform requests and
// responses: authentication, headers, paths and redirects, compression and
// error pages. Each is built once per configuration, never per request.
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

// New builds the middleware def describes. State the middleware keeps
// (caches, counters) belongs to the returned function, so reusing it for a
// new chain keeps that state; the wrapped handlers it returns are cheap.
func New(def *config.Middleware, opts Options) (func(http.Handler) http.Handler, error) {
	return nil, ErrNotSupported
}
