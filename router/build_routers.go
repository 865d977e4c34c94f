package router

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

// buildRouters builds the HTTP routers and the route sets of the entry
// points. A router whose route comes out the same as in the previous table
// (same rule, service, middlewares, entry points…) keeps that very route,
// and the route sets change only where routes came, went or changed, so a
// rebuild costs in proportion to what changed.
func (b *builder) buildRouters() {
	t := b.table
	t.routers = make(map[string]*RouterInfo, len(b.cfg.HTTP.Routers))
	epIndex := make(map[string]int, len(b.opts.EntryPoints))
	allEPs := make([]int, len(b.opts.EntryPoints))
	for i, ep := range b.opts.EntryPoints {
		epIndex[ep.Name] = i
		allEPs[i] = i
	}
	prev := b.reusableRouters()
	var prevNames []string
	var prevDefs map[string]*config.Router
	if b.prev != nil {
		prevNames, prevDefs = b.prev.names.routers, b.prev.config.HTTP.Routers
	}
	t.names.routers = sortedNames(b.cfg.HTTP.Routers, prevDefs, prevNames)
	d := newRouteDelta()
	matched := 0 // routers of prev with a route that are still configured
	for _, name := range t.names.routers {
		def := b.cfg.HTTP.Routers[name]
		old := prev[name]
		var oldRoute *route
		if old != nil && old.route != nil {
			oldRoute = old.route
			matched++
		}
		info := &RouterInfo{Router: def, Name: name, Provider: config.ProviderOf(name)}
		t.routers[name] = info
		if svc := t.serviceInfo[def.Service]; svc != nil {
			svc.UsedBy = append(svc.UsedBy, name)
		}
		for _, m := range def.Middlewares {
			if mw := t.middlewares[m]; mw != nil {
				mw.UsedBy = append(mw.UsedBy, name)
			}
		}
		b.checkRouterDeps(name, def)
		if config.IsInternal(def.Service) && b.opts.Internal[def.Service] == nil {
			b.problem(config.Problem{Kind: config.KindRouter, Name: name, Field: "service",
				Message: fmt.Sprintf("internal service %q is not enabled in the static configuration", def.Service)})
		}
		eps := allEPs
		if len(def.EntryPoints) > 0 {
			eps = b.routerEntryPoints(config.KindRouter, name, def.EntryPoints, epIndex)
		}
		b.checkRouterTLS(name, def, eps) // tlsoptions.go
		info.rule, info.syntax = b.compileRule(name, def, old)
		var r *route
		if !b.disabled(config.KindRouter, name) && info.rule != nil {
			r = b.routeFor(name, def, info.rule, eps, oldRoute)
		}
		d.replace(oldRoute, r)
		if r == nil {
			continue
		}
		info.route = r
		info.Using = b.using(r.binds, old)
		t.routeCount++
	}
	if prev != nil && matched < b.prev.routeCount {
		for name, old := range prev {
			if old.route != nil && t.routers[name] == nil {
				d.replace(old.route, nil)
			}
		}
	}
	for i := range t.entries {
		var before entryRoutes
		if prev != nil {
			before = b.prev.entries[i]
		}
		t.entries[i].plain = before.plain.with(d.remove[bind{i, false}], d.add[bind{i, false}])
		t.entries[i].secure = before.secure.with(d.remove[bind{i, true}], d.add[bind{i, true}])
	}
	for name, info := range t.routers {
		info.Status, info.Error = b.status(config.KindRouter, name)
	}
	for name, info := range t.serviceInfo {
		info.Status, info.Error = b.status(config.KindService, name)
	}
	for name, info := range t.middlewares {
		info.Status, info.Error = b.status(config.KindMiddleware, name)
	}
}

// reusableRouters returns the previous table's routers when its routes can
// be carried over: built for the same entry points and default rule syntax.
func (b *builder) reusableRouters() map[string]*RouterInfo {
	p := b.prev
	if p == nil || p.ruleSyntax != b.opts.DefaultRuleSyntax || len(p.entries) != len(b.opts.EntryPoints) ||
		!reflect.DeepEqual(p.entryPoints, b.opts.EntryPoints) {
		return nil
	}
	return p.routers
}

// using returns the names of the entry points of binds, in order, sharing
// the previous table's slice when it is the same.
func (b *builder) using(binds []bind, old *RouterInfo) []string {
	if old != nil && len(old.Using) == len(binds) {
		same := true
		for i, bd := range binds {
			if old.Using[i] != b.opts.EntryPoints[bd.ep].Name {
				same = false
				break
			}
		}
		if same {
			return old.Using
		}
	}
	out := make([]string, len(binds))
	for i, bd := range binds {
		out[i] = b.opts.EntryPoints[bd.ep].Name
	}
	return out
}

// routeFor returns the route of an enabled router, nil when its service
// has no handler: old, the previous table's route of the router, when
// everything the route is made of is the same.
func (b *builder) routeFor(name string, def *config.Router, compiled *rule.Rule, eps []int, old *route) *route {
	svc := b.table.services[def.Service]
	var internal http.Handler
	if svc == nil {
		if internal = b.opts.Internal[def.Service]; internal == nil {
			return nil
		}
	}
	priority := def.Priority
	if priority == 0 {
		priority = len(def.Rule)
	}
	routerMetrics, serviceMetrics := b.opts.Metrics.Router(name, def.Service), b.opts.Metrics.Service(def.Service)
	clientAuth := b.clientAuthOptions(name, def, eps) // tlsoptions.go
	sameHandler := old != nil && svc != nil && old.svc == svc && b.sameMiddlewares(old.mws, def.Middlewares)
	if sameHandler && old.service == def.Service && old.priority == priority && old.rule == compiled &&
		old.metrics == routerMetrics && old.serviceMetrics == serviceMetrics &&
		slices.Equal(old.clientAuth, clientAuth) && b.sameBinds(old.binds, def, eps) {
		return old
	}
	r := &route{name: name, service: def.Service, priority: priority, rule: compiled, svc: svc,
		metrics: routerMetrics, serviceMetrics: serviceMetrics, clientAuth: clientAuth}
	r.binds = make([]bind, len(eps))
	for i, ep := range eps {
		r.binds[i] = bind{ep: ep, secure: def.TLS != nil || b.opts.EntryPoints[ep].TLS}
	}
	if sameHandler {
		r.mws, r.handler = old.mws, old.handler
		return r
	}
	if len(def.Middlewares) > 0 {
		r.mws = make([]*builtMiddleware, len(def.Middlewares))
		for i, m := range def.Middlewares {
			r.mws[i] = b.table.mws[m] // checkRouterDeps disabled the router if any is missing
		}
	}
	var h http.Handler = internal
	if svc != nil {
		h = svc
	}
	parts := make([]wrapper, len(r.mws))
	for i, m := range r.mws {
		parts[i] = m.wrap
	}
	r.handler = compose(parts, h)
	return r
}

// sameMiddlewares reports whether mws are the middlewares named by names.
func (b *builder) sameMiddlewares(mws []*builtMiddleware, names []string) bool {
	if len(mws) != len(names) {
		return false
	}
	for i, m := range names {
		if b.table.mws[m] != mws[i] {
			return false
		}
	}
	return true
}

// sameBinds reports whether binds are those of router def on eps.
func (b *builder) sameBinds(binds []bind, def *config.Router, eps []int) bool {
	if len(binds) != len(eps) {
		return false
	}
	for i, ep := range eps {
		if binds[i] != (bind{ep: ep, secure: def.TLS != nil || b.opts.EntryPoints[ep].TLS}) {
			return false
		}
	}
	return true
}

// checkRouterDeps disables a router whose service or middlewares are
// disabled: it is never served without them.
func (b *builder) checkRouterDeps(name string, def *config.Router) {
	if len(b.errs) == 0 {
		return // nothing is disabled
	}
	if b.disabled(config.KindService, def.Service) {
		if _, exists := b.cfg.HTTP.Services[def.Service]; exists {
			b.problem(config.Problem{Kind: config.KindRouter, Name: name, Field: "service",
				Message: fmt.Sprintf("service %q is disabled", def.Service)})
		}
	}
	for i, m := range def.Middlewares {
		if _, exists := b.cfg.HTTP.Middlewares[m]; exists && b.disabled(config.KindMiddleware, m) {
			b.problem(config.Problem{Kind: config.KindRouter, Name: name, Field: fmt.Sprintf("middlewares[%d]", i),
				Message: fmt.Sprintf("middleware %q is disabled", m)})
		}
	}
}

// routerEntryPoints returns the indexes of the entry points an HTTP or TCP
// router binds to: the ones it names, or all. An unknown name is a problem
// of the router.
func (b *builder) routerEntryPoints(kind config.Kind, name string, names []string, epIndex map[string]int) []int {
	if len(names) == 0 {
		all := make([]int, len(b.opts.EntryPoints))
		for i := range all {
			all[i] = i
		}
		return all
	}
	var out []int
	for i, ep := range names {
		idx, ok := epIndex[ep]
		if !ok {
			b.problem(config.Problem{Kind: kind, Name: name, Field: fmt.Sprintf("entryPoints[%d]", i),
				Message: fmt.Sprintf("entry point %q does not exist", ep)})
			continue
		}
		out = append(out, idx)
	}
	return out
}

// compileRule compiles a router's rule in its syntax (rules.go), reusing
// old's compilation (the router in the previous table) of the same text
// and syntax, or one made earlier in this build.
func (b *builder) compileRule(name string, def *config.Router, old *RouterInfo) (*rule.Rule, rule.Syntax) {
	if def.Rule == "" {
		return nil, ""
	}
	syn, ok := b.ruleSyntax(config.KindRouter, name, def.RuleSyntax)
	if !ok {
		return nil, ""
	}
	if old != nil && old.rule != nil && old.syntax == syn && old.Router.Rule == def.Rule {
		return old.rule, syn
	}
	key := ruleKey(syn, def.Rule)
	if r := b.rules[key]; r != nil {
		return r, syn
	}
	r, err := rule.CompileSyntax(def.Rule, syn)
	if err != nil {
		b.problem(config.Problem{Kind: config.KindRouter, Name: name, Field: "rule", Message: err.Error()})
		return nil, ""
	}
	if b.rules == nil {
		b.rules = make(map[string]*rule.Rule)
	}
	b.rules[key] = r
	return r, syn
}

// sortedNames returns the keys of m, sorted. prev, when not nil, holds the
// sorted keys of prevMap, the map m replaces: the result is then merged
// from prev and the keys m added, in proportion to what changed, and is
// prev itself when the keys are the same.
func sortedNames[V any](m, prevMap map[string]V, prev []string) []string {
	if prev == nil {
		return sortedKeys(m)
	}
	kept := 0
	for _, k := range prev {
		if _, ok := m[k]; ok {
			kept++
		}
	}
	if kept == len(prev) && kept == len(m) {
		return prev
	}
	var added []string
	if len(m) > kept {
		added = make([]string, 0, len(m)-kept)
		for k := range m {
			if _, ok := prevMap[k]; !ok {
				added = append(added, k)
			}
		}
		sort.Strings(added)
	}
	out := make([]string, 0, len(m))
	for _, k := range prev {
		if _, ok := m[k]; !ok {
			continue
		}
		for len(added) > 0 && added[0] < k {
			out = append(out, added[0])
			added = added[1:]
		}
		out = append(out, k)
	}
	return append(out, added...)
}
