package merge

import (
	"cmp"
	"reflect"
	"slices"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// state is the newest accepted view of every provider. It is owned by the
// goroutine running Merger.Run.
type state struct {
	entries map[string]*entry
	names   []string // sorted keys of entries
}

// entry is one provider's newest view, normalised so that equal views
// compare equal with reflect.DeepEqual, plus its qualified form, computed
// when a snapshot first needs it.
type entry struct {
	cfg      config.Config // shallow copy; empty maps and slices are nil
	problems []config.Problem
	origins  map[config.ObjectID]string

	qualified *qualified
}

// qualified is an entry with every name qualified by its provider.
type qualified struct {
	cfg      *config.Config
	problems []config.Problem
	origins  map[config.ObjectID]string
}

func newState() *state {
	return &state{entries: make(map[string]*entry)}
}

// accept records u as its provider's newest view and reports whether it
// differs from the previous one. u.Provider must not be empty.
func (st *state) accept(u providers.Update) bool {
	e := normalise(u)
	prev, known := st.entries[u.Provider]
	if known && prev.equal(e) {
		return false
	}
	if !known {
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

// equal reports whether e and o describe the same view.
func (e *entry) equal(o *entry) bool {
	return reflect.DeepEqual(e.problems, o.problems) &&
		reflect.DeepEqual(e.origins, o.origins) &&
		reflect.DeepEqual(&e.cfg, &o.cfg)
}

// qualify returns e with names qualified by provider, computing it once.
func (e *entry) qualify(provider string) *qualified {
	if e.qualified != nil {
		return e.qualified
	}
	q := &qualified{cfg: e.cfg.Qualified(provider)}
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
	if len(e.origins) > 0 {
		q.origins = make(map[config.ObjectID]string, len(e.origins))
		for id, origin := range e.origins {
			id.Name = qualifyName(id.Kind, id.Name, provider)
			q.origins[id] = origin
		}
	}
	e.qualified = q
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
// new Snapshot. The maps and slices of the result are fresh; the objects in
// them are shared with the entries.
func (st *state) snapshot(gen uint64) *Snapshot {
	var routers, services, middlewares, certs, problems, origins int
	qs := make([]*qualified, len(st.names))
	for i, name := range st.names {
		q := st.entries[name].qualify(name)
		qs[i] = q
		routers += len(q.cfg.HTTP.Routers)
		services += len(q.cfg.HTTP.Services)
		middlewares += len(q.cfg.HTTP.Middlewares)
		certs += len(q.cfg.TLS.Certificates)
		problems += len(q.problems)
		origins += len(q.origins)
	}

	// config.Merge allocates a map only when dst has none, so maps sized
	// here are filled without growing.
	cfg := &config.Config{}
	if routers > 0 {
		cfg.HTTP.Routers = make(map[string]*config.Router, routers)
	}
	if services > 0 {
		cfg.HTTP.Services = make(map[string]*config.Service, services)
	}
	if middlewares > 0 {
		cfg.HTTP.Middlewares = make(map[string]*config.Middleware, middlewares)
	}
	if certs > 0 {
		cfg.TLS.Certificates = make([]config.Certificate, 0, certs)
	}
	s := &Snapshot{
		Config:     cfg,
		Providers:  slices.Clone(st.names),
		Generation: gen,
	}
	if problems > 0 {
		s.Problems = make([]config.Problem, 0, problems)
	}
	if origins > 0 {
		s.Origins = make(map[config.ObjectID]string, origins)
	}
	for _, q := range qs {
		config.Merge(cfg, q.cfg)
		s.Problems = append(s.Problems, q.problems...)
		for id, origin := range q.origins {
			s.Origins[id] = origin
		}
	}
	config.SortProblems(s.Problems)
	return s
}
