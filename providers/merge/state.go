package merge

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// state is the newest accepted view of every provider. It is owned by the
// goroutine running Merger.Run.
//
// Work is in proportion to what changed: an accepted view keeps the
// previous view's pointer for every HTTP router, service and middleware
// equal to it (intern), only the objects that changed are qualified again,
// and the merged maps are the previous snapshot's, changed where a
// provider's changed. Unchanged objects are thus the same pointers from
// one snapshot to the next, which is what lets the router reuse what it
// built from them.
type state struct {
	entries map[string]*entry
	names   []string // sorted keys of entries
	last    *merged  // what the last snapshot merged; nil before the first
}

// entry is one provider's newest view, normalised so that equal views
// compare equal with reflect.DeepEqual, plus its qualified form, computed
// when a snapshot first needs it.
type entry struct {
	cfg      config.Config // shallow copy; empty maps and slices are nil
	problems []config.Problem
	origins  map[config.ObjectID]string

	qualified *qualified
	// base is the provider's latest earlier view that was qualified, whose
	// qualified objects this one's qualification reuses; nil once this one
	// is qualified.
	base *entry
}

// qualified is an entry with every name qualified by its provider.
type qualified struct {
	cfg      *config.Config
	problems []config.Problem
}

// merged is what a snapshot merged: the qualified view of each provider it
// took, and the merged HTTP maps made of them.
type merged struct {
	from        map[string]*qualified
	routers     map[string]*config.Router
	services    map[string]*config.Service
	middlewares map[string]*config.Middleware
}

func newState() *state {
	return &state{entries: make(map[string]*entry)}
}

// accept records u as its provider's newest view and reports whether it
// differs from the previous one. u.Provider must not be empty.
func (st *state) accept(u providers.Update) bool {
	e := normalise(u)
	prev, known := st.entries[u.Provider]
	if known {
		if !e.intern(prev) {
			return false
		}
		e.base = prev
		if prev.qualified == nil {
			e.base = prev.base
		}
	} else {
		i, _ := slices.BinarySearch(st.names, u.Provider)
		st.names = slices.Insert(st.names, i, u.Provider)
	}
	st.entries[u.Provider] = e
	return true
}

// normalise copies the parts of u that the merger keeps, so that nil and
// empty collections, and problems in any order, compare equal. The
// provider's own values are not modified.
func normalise(u providers.Update) *entry {
	e := &entry{}
	if u.Config != nil {
		e.cfg = *u.Config
	}
	if len(e.cfg.HTTP.Routers) == 0 {
		e.cfg.HTTP.Routers = nil
	}
	if len(e.cfg.HTTP.Services) == 0 {
		e.cfg.HTTP.Services = nil
	}
	if len(e.cfg.HTTP.Middlewares) == 0 {
		e.cfg.HTTP.Middlewares = nil
	}
	if len(e.cfg.TLS.Certificates) == 0 {
		e.cfg.TLS.Certificates = nil
	}
	if len(u.Problems) > 0 {
		e.problems = slices.Clone(u.Problems)
		slices.SortFunc(e.problems, compareProblems)
	}
	if len(u.Origins) > 0 {
		e.origins = u.Origins
	}
	return e
}

// compareProblems orders problems completely, so that two lists holding
// the same problems sort identically.
func compareProblems(a, b config.Problem) int {
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Origin, b.Origin),
	)
}

// intern replaces every HTTP router, service and middleware of e that
// equals prev's of the same name by prev's pointer, and reports whether e
// describes another view than prev.
func (e *entry) intern(prev *entry) bool {
	var changed [3]bool
	e.cfg.HTTP.Routers, changed[0] = internMap(e.cfg.HTTP.Routers, prev.cfg.HTTP.Routers)
	e.cfg.HTTP.Services, changed[1] = internMap(e.cfg.HTTP.Services, prev.cfg.HTTP.Services)
	e.cfg.HTTP.Middlewares, changed[2] = internMap(e.cfg.HTTP.Middlewares, prev.cfg.HTTP.Middlewares)
	if changed[0] || changed[1] || changed[2] {
		return true
	}
	return !reflect.DeepEqual(e.problems, prev.problems) ||
		!reflect.DeepEqual(e.origins, prev.origins) ||
		!reflect.DeepEqual(withoutHTTPObjects(&e.cfg), withoutHTTPObjects(&prev.cfg))
}

// internMap returns m with every object equal to prev's of the same name
// replaced by prev's pointer (m is copied first, never modified), and
// whether any object was added, removed or changed.
func internMap[T any](m, prev map[string]*T) (map[string]*T, bool) {
	changed, copied := len(m) != len(prev), false
	out := m
	for name, v := range m {
		old, ok := prev[name]
		switch {
		case !ok:
			changed = true
		case old == v:
		case reflect.DeepEqual(old, v):
			if !copied {
				out, copied = maps.Clone(m), true
			}
			out[name] = old
		default:
			changed = true
		}
	}
	return out, changed
}

// withoutHTTPObjects returns a copy of c without its HTTP routers, services
// and middlewares, which intern compares on their own.
func withoutHTTPObjects(c *config.Config) *config.Config {
	cp := *c
	cp.HTTP.Routers, cp.HTTP.Services, cp.HTTP.Middlewares = nil, nil, nil
	return &cp
}

// qualify returns e with names qualified by provider, computing it once,
// from its base's qualified objects where they did not change.
func (e *entry) qualify(provider string) *qualified {
	if e.qualified != nil {
		return e.qualified
	}
	var q *qualified
	if e.base != nil {
		q = &qualified{cfg: e.cfg.QualifiedNext(provider, &e.base.cfg, e.base.qualified.cfg)}
	} else {
		q = &qualified{cfg: e.cfg.Qualified(provider)}
	}
	if len(e.problems) > 0 {
		q.problems = make([]config.Problem, len(e.problems))
		for i, p := range e.problems {
			if p.Origin == "" {
				p.Origin = e.origins[p.ID()]
			}
			p.Name = qualifyName(p.Kind, p.Name, provider)
			q.problems[i] = p
		}
	}
	e.qualified, e.base = q, nil
	return q
}

// qualifyName qualifies the name of an object; a source's name (a file, a
// container) is not an object name and is kept as is.
func qualifyName(kind config.Kind, name, provider string) string {
	if kind == config.KindSource {
		return name
	}
	return config.Qualify(name, provider)
}

// snapshot merges every provider's view, in sorted provider order, into a
// new Snapshot. The objects in it are shared with the entries, and its
// HTTP maps with other snapshots: all of it is read-only.
func (st *state) snapshot(gen uint64) *Snapshot {
	var certs, problems int
	qs := make(map[string]*qualified, len(st.names))
	byProvider := make(map[string]map[config.ObjectID]string, len(st.names))
	for _, name := range st.names {
		e := st.entries[name]
		q := e.qualify(name)
		qs[name] = q
		certs += len(q.cfg.TLS.Certificates)
		problems += len(q.problems)
		byProvider[name] = e.origins
	}
	m := st.merge(qs)
	st.last = m
	// config.Merge allocates a map only when dst has none: the HTTP maps
	// are set after the rest is merged.
	cfg := &config.Config{}
	if certs > 0 {
		cfg.TLS.Certificates = make([]config.Certificate, 0, certs)
	}
	s := &Snapshot{
		Config:     cfg,
		Origins:    &origins{byProvider: byProvider, providers: slices.Clone(st.names)},
		Providers:  slices.Clone(st.names),
		Generation: gen,
	}
	if problems > 0 {
		s.Problems = make([]config.Problem, 0, problems)
	}
	for _, name := range st.names {
		q := qs[name]
		config.Merge(cfg, withoutHTTPObjects(q.cfg))
		s.Problems = append(s.Problems, q.problems...)
	}
	cfg.HTTP.Routers, cfg.HTTP.Services, cfg.HTTP.Middlewares = m.routers, m.services, m.middlewares
	config.SortProblems(s.Problems)
	return s
}

// merge makes the merged HTTP maps of the providers' qualified views qs:
// the last snapshot's maps, copied and changed where a provider's view
// changed, when no two providers define the same name in either; else
// afresh, later providers' objects replacing earlier ones'.
func (st *state) merge(qs map[string]*qualified) *merged {
	m := &merged{from: qs}
	routers := func(q *qualified) map[string]*config.Router { return q.cfg.HTTP.Routers }
	services := func(q *qualified) map[string]*config.Service { return q.cfg.HTTP.Services }
	middlewares := func(q *qualified) map[string]*config.Middleware { return q.cfg.HTTP.Middlewares }
	var lastRouters map[string]*config.Router
	var lastServices map[string]*config.Service
	var lastMiddlewares map[string]*config.Middleware
	var lastFrom map[string]*qualified
	if st.last != nil {
		lastRouters, lastServices, lastMiddlewares, lastFrom = st.last.routers, st.last.services, st.last.middlewares, st.last.from
	}
	m.routers = mergeMaps(st.names, qs, lastFrom, lastRouters, routers)
	m.services = mergeMaps(st.names, qs, lastFrom, lastServices, services)
	m.middlewares = mergeMaps(st.names, qs, lastFrom, lastMiddlewares, middlewares)
	return m
}

// mergeMaps merges the map get returns of each provider's view in qs, in
// the order of names. last is the merged map of the views lastFrom (nil:
// none). The result is nil when empty; it is one provider's own map when
// no other has any object, last itself when no view changed.
func mergeMaps[V any](names []string, qs, lastFrom map[string]*qualified, last map[string]V,
	get func(*qualified) map[string]V) map[string]V {
	total, nonEmpty := 0, 0
	var only map[string]V
	for _, name := range names {
		if n := len(get(qs[name])); n > 0 {
			total += n
			nonEmpty++
			only = get(qs[name])
		}
	}
	switch {
	case total == 0:
		return nil
	case nonEmpty == 1:
		return only
	}
	if lastFrom != nil && len(last) == countObjects(lastFrom, get) {
		// No name was defined twice last time: patch what changed.
		var out map[string]V
		for _, name := range names {
			q, old := qs[name], lastFrom[name]
			if q == old {
				continue
			}
			if out == nil {
				if out = maps.Clone(last); out == nil {
					out = make(map[string]V, total)
				}
			}
			var before map[string]V
			if old != nil {
				before = get(old)
			}
			after := get(q)
			for k := range before {
				if _, ok := after[k]; !ok {
					delete(out, k)
				}
			}
			for k, v := range after {
				out[k] = v
			}
		}
		if out == nil && len(lastFrom) == len(qs) {
			return last
		}
		if out != nil && len(out) == total {
			return out
		}
	}
	out := make(map[string]V, total)
	for _, name := range names {
		maps.Copy(out, get(qs[name]))
	}
	return out
}

// countObjects adds up the sizes of the maps get returns of views.
func countObjects[V any](views map[string]*qualified, get func(*qualified) map[string]V) int {
	n := 0
	for _, q := range views {
		n += len(get(q))
	}
	return n
}

// origins is a snapshot's config.Origins: it looks qualified names up in
// the providers' own origins, by the names they sent.
type origins struct {
	byProvider map[string]map[config.ObjectID]string
	providers  []string // sorted
}

// Origin returns where object id was defined. When two providers' objects
// qualify to the same name, the later provider's origin is returned, as
// their objects are merged.
func (o *origins) Origin(id config.ObjectID) string {
	own := config.ProviderOf(id.Name)
	base := config.BaseName(id.Name)
	asWritten := id.Kind == config.KindSource || strings.Contains(id.Name, "@")
	for i := len(o.providers) - 1; i >= 0; i-- {
		p := o.providers[i]
		m := o.byProvider[p]
		if len(m) == 0 {
			continue
		}
		if id.Kind != config.KindSource && p == own && !strings.Contains(base, "@") {
			if s, ok := m[config.ObjectID{Kind: id.Kind, Name: base}]; ok {
				return s
			}
		}
		if asWritten {
			if s, ok := m[id]; ok {
				return s
			}
		}
	}
	return ""
}
