// Package traffic builds the middlewares that control and protect traffic:
// rate limits, concurrency limits, IP allow lists, buffering, retries and
// circuit breakers. Each is built once per configuration, never per request.
package traffic

import (
	"errors"
	"fmt"
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
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	var (
		wrap func(http.Handler) http.Handler
		err  error
		kind string
	)
	switch {
	case def.RateLimit != nil:
		kind = "rateLimit"
		var l *rateLimiter
		if l, err = newRateLimit(def.RateLimit); err == nil {
			wrap = l.wrap
		}
	case def.InFlightReq != nil:
		kind = "inFlightReq"
		var f *inFlight
		if f, err = newInFlightReq(def.InFlightReq); err == nil {
			wrap = f.wrap
		}
	case def.IPAllowList != nil:
		kind = "ipAllowList"
		var a *allowList
		if a, err = newIPAllowList(def.IPAllowList); err == nil {
			wrap = a.wrap
		}
	case def.Buffering != nil:
		kind = "buffering"
		var b *buffer
		if b, err = newBuffering(def.Buffering, log); err == nil {
			wrap = b.wrap
		}
	case def.Retry != nil:
		kind = "retry"
		var rt *retrier
		if rt, err = newRetry(def.Retry, log); err == nil {
			wrap = rt.wrap
		}
	case def.CircuitBreaker != nil:
		kind = "circuitBreaker"
		var b *breaker
		if b, err = newCircuitBreaker(def.CircuitBreaker, log); err == nil {
			wrap = b.wrap
		}
	default:
		return nil, ErrNotSupported
	}
	if err != nil {
		return nil, fmt.Errorf("%s.%w", kind, err)
	}
	return wrap, nil
}
