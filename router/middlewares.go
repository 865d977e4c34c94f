package router

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/middleware"
	"github.com/ferryproxy/ferry/router/traffic"
)

// wrapper is a built middleware: it wraps the next handler.
type wrapper = func(http.Handler) http.Handler

// builtMiddleware is a middleware instance kept across swaps while its
// definition does not change, so its state (rate limit buckets, caches)
// survives unrelated configuration changes. The pointer itself is kept:
// a router whose middlewares are the same pointers keeps its handler.
type builtMiddleware struct {
	def  *config.Middleware
	wrap wrapper
	// parts are a chain's middlewares, in order; nil for other types.
	parts []*builtMiddleware
}

// buildMiddlewares builds every middleware, resolving chains.
func (b *builder) buildMiddlewares() {
	t := b.table
	t.middlewares = make(map[string]*MiddlewareInfo, len(b.cfg.HTTP.Middlewares))
	t.mws = make(map[string]*builtMiddleware, len(b.cfg.HTTP.Middlewares))
	var prevNames []string
	var prevDefs map[string]*config.Middleware
	if b.prev != nil {
		prevNames, prevDefs = b.prev.names.middlewares, b.prev.config.HTTP.Middlewares
	}
	t.names.middlewares = sortedNames(b.cfg.HTTP.Middlewares, prevDefs, prevNames)
	failed := make(map[string]bool)
	for _, name := range t.names.middlewares {
		t.middlewares[name] = &MiddlewareInfo{Middleware: b.cfg.HTTP.Middlewares[name], Name: name, Provider: config.ProviderOf(name)}
	}
	for _, name := range t.names.middlewares {
		b.middleware(name, nil, failed)
	}
}

// middleware builds (once) and returns the named middleware, or nil when it
// is disabled. stack holds the chains being resolved, to catch cycles.
func (b *builder) middleware(name string, stack []string, failed map[string]bool) *builtMiddleware {
	if m := b.table.mws[name]; m != nil {
		return m
	}
	def := b.cfg.HTTP.Middlewares[name]
	if def == nil || failed[name] || b.disabled(config.KindMiddleware, name) {
		return nil
	}
	for _, s := range stack {
		if s == name {
			failed[name] = true
			b.problem(config.Problem{Kind: config.KindMiddleware, Name: name, Field: "chain.middlewares",
				Message: "chain cycle: " + strings.Join(append(stack, name), " -> ")})
			return nil
		}
	}
	m, err := b.newMiddleware(name, def, append(stack, name), failed)
	if err != nil {
		failed[name] = true
		b.problem(config.Problem{Kind: config.KindMiddleware, Name: name, Message: err.Error()})
		return nil
	}
	b.table.mws[name] = m
	return m
}

// newMiddleware builds a middleware, or returns the previous table's when
// its definition (and, for a chain, its parts) did not change.
func (b *builder) newMiddleware(name string, def *config.Middleware, stack []string, failed map[string]bool) (*builtMiddleware, error) {
	var old *builtMiddleware
	if b.prev != nil {
		old = b.prev.mws[name]
	}
	sameDef := old != nil && (old.def == def || reflect.DeepEqual(old.def, def))
	if def.Chain != nil {
		parts := make([]*builtMiddleware, 0, len(def.Chain.Middlewares))
		for i, m := range def.Chain.Middlewares {
			if _, ok := b.cfg.HTTP.Middlewares[m]; !ok {
				return nil, fmt.Errorf("chain.middlewares[%d]: middleware %q does not exist", i, m)
			}
			p := b.middleware(m, stack, failed)
			if p == nil {
				return nil, fmt.Errorf("chain.middlewares[%d]: middleware %q is disabled", i, m)
			}
			parts = append(parts, p)
		}
		if sameDef && slices.Equal(old.parts, parts) {
			return old, nil
		}
		wraps := make([]wrapper, len(parts))
		for i, p := range parts {
			wraps[i] = p.wrap
		}
		wrap := func(next http.Handler) http.Handler { return compose(wraps, next) }
		return &builtMiddleware{def: def, wrap: wrap, parts: parts}, nil
	}
	// An errors middleware holds its service's handler and no state of its
	// own: it is always rebuilt, so it never serves pages from a stale service.
	if sameDef && def.Errors == nil {
		return old, nil
	}
	var (
		wrap wrapper
		err  error
	)
	log := b.opts.Log.Named("middleware").With(zap.String("middleware", name))
	if traffic.Handles(def) {
		wrap, err = traffic.New(def, traffic.Options{Name: name, Log: log})
	} else {
		wrap, err = middleware.New(def, middleware.Options{Name: name, Log: log, Service: b.serviceHandler})
	}
	if errors.Is(err, middleware.ErrNotSupported) || errors.Is(err, traffic.ErrNotSupported) {
		return nil, fmt.Errorf("this middleware type is not supported by this version of Ferry yet")
	}
	if err != nil {
		return nil, err
	}
	return &builtMiddleware{def: def, wrap: wrap}, nil
}

// serviceHandler returns an enabled service's handler by name.
func (b *builder) serviceHandler(name string) (http.Handler, bool) {
	s, ok := b.table.services[name]
	if !ok {
		return nil, false
	}
	return s, true
}

// compose wraps next in parts, the first part outermost.
func compose(parts []wrapper, next http.Handler) http.Handler {
	for i := len(parts) - 1; i >= 0; i-- {
		next = parts[i](next)
	}
	return next
}
