package router

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
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
// survives unrelated configuration changes.
type builtMiddleware struct {
	def  *config.Middleware
	wrap wrapper
}

// buildMiddlewares builds every middleware, resolving chains.
func (b *builder) buildMiddlewares() {
	t := b.table
	t.middlewares = make(map[string]*MiddlewareInfo, len(b.cfg.HTTP.Middlewares))
	t.mws = make(map[string]*builtMiddleware, len(b.cfg.HTTP.Middlewares))
	failed := make(map[string]bool)
	for _, name := range sortedKeys(b.cfg.HTTP.Middlewares) {
		t.middlewares[name] = &MiddlewareInfo{Middleware: b.cfg.HTTP.Middlewares[name], Name: name, Provider: config.ProviderOf(name)}
	}
	for _, name := range sortedKeys(b.cfg.HTTP.Middlewares) {
		b.middleware(name, nil, failed)
	}
}

// middleware builds (once) and returns the named middleware, or nil when it
// is disabled. stack holds the chains being resolved, to catch cycles.
func (b *builder) middleware(name string, stack []string, failed map[string]bool) wrapper {
	if m := b.table.mws[name]; m != nil {
		return m.wrap
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
	wrap, err := b.newMiddleware(name, def, append(stack, name), failed)
	if err != nil {
		failed[name] = true
		b.problem(config.Problem{Kind: config.KindMiddleware, Name: name, Message: err.Error()})
		return nil
	}
	b.table.mws[name] = &builtMiddleware{def: def, wrap: wrap}
	return wrap
}

func (b *builder) newMiddleware(name string, def *config.Middleware, stack []string, failed map[string]bool) (wrapper, error) {
	if def.Chain != nil {
		var parts []wrapper
		for i, m := range def.Chain.Middlewares {
			if _, ok := b.cfg.HTTP.Middlewares[m]; !ok {
				return nil, fmt.Errorf("chain.middlewares[%d]: middleware %q does not exist", i, m)
			}
			w := b.middleware(m, stack, failed)
			if w == nil {
				return nil, fmt.Errorf("chain.middlewares[%d]: middleware %q is disabled", i, m)
			}
			parts = append(parts, w)
		}
		return func(next http.Handler) http.Handler { return compose(parts, next) }, nil
	}
	// An errors middleware holds its service's handler and no state of its
	// own: it is always rebuilt, so it never serves pages from a stale service.
	if b.prev != nil && def.Errors == nil {
		if old := b.prev.mws[name]; old != nil && (old.def == def || reflect.DeepEqual(old.def, def)) {
			return old.wrap, nil
		}
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
	return wrap, err
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
