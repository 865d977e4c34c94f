// Package traffic builds the middlewares that control and protect traffic:
// rate limits, concurrency limits, IP allow lists, buffering, retries and
// circuit breakers. Each is built once per configuration, never per request.
package traffic

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// ErrNotSupported is returned for a middleware type this package does not build.
var ErrNotSupported = errors.New("middleware type not supported")

// Options are what traffic middlewares may need from the router.
type Options struct {
	// Name is the middleware's qualified name, for logs and errors.
	Name string
	// Log is the middleware's logger.
	Log *zap.Logger
}

// Handles reports whether def is one of this package's middleware types.
func Handles(def *config.Middleware) bool {
	return def.RateLimit != nil || def.InFlightReq != nil || def.IPAllowList != nil ||
		def.Buffering != nil || def.Retry != nil || def.CircuitBreaker != nil
}

// New builds the middleware def describes. State the middleware keeps (token
// buckets, counters, breaker state) belongs to the returned function, so
// reusing it across configuration swaps keeps that state.
func New(def *config.Middleware, opts Options) (func(http.Handler) http.Handler, error) {
	return nil, ErrNotSupported
}
