package merge

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// fullMerge is what a snapshot holds, merged from nothing: every view
// qualified afresh and merged in provider order.
func fullMerge(views map[string]providers.Update, names []string) (*config.Config, []config.Problem) {
	cfg := &config.Config{}
	var problems []config.Problem
	for _, name := range names {
		u := views[name]
		config.Merge(cfg, u.Config.Qualified(name))
		for _, p := range u.Problems {
			if p.Origin == "" {
				p.Origin = u.Origins[p.ID()]
			}
			p.Name = qualifyName(p.Kind, p.Name, name)
			problems = append(problems, p)
		}
	}
	config.SortProblems(problems)
	return cfg, problems
}

// TestSnapshotIncremental sends random views of three providers, each a
// fresh copy as providers build them, and checks every snapshot against a
// merge from nothing; names that two providers define (x@consul sent by
// the file provider) are among them.
func TestSnapshotIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 18))
	providerNames := []string{"consul", "docker", "file"}
	views := map[string]providers.Update{}
	// objects are the providers' current routers, rebuilt into fresh
	// values for every update.
	objects := map[string]map[string]string{} // provider -> router -> rule
	for _, p := range providerNames {
		objects[p] = map[string]string{} // empty at first: objects come later
	}
	build := func(p string, step int) providers.Update {
		c := &config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{}}}
		origins := map[config.ObjectID]string{}
		for name, rule := range objects[p] {
			c.HTTP.Routers[name] = &config.Router{Rule: rule, Service: name}
			c.HTTP.Services[name] = &config.Service{LoadBalancer: &config.LoadBalancer{
				Servers: []config.Server{{URL: "http://127.0.0.1:1"}}}}
			origins[config.ObjectID{Kind: config.KindRouter, Name: name}] = p + " " + name
		}
		u := providers.Update{Provider: p, Config: c, Origins: origins}
		if step%7 == 0 {
			u.Problems = []config.Problem{{Kind: config.KindRouter, Name: "r1", Message: fmt.Sprint("step ", step)}}
		}
		return u
	}
	st := newState()
	for _, p := range providerNames { // every provider's first view is empty
		views[p] = build(p, -1)
		st.accept(views[p])
	}
	st.snapshot(0)
	var last *Snapshot
	for step := range 2000 {
		p := providerNames[rng.IntN(len(providerNames))]
		switch rng.IntN(5) {
		case 0:
			objects[p][fmt.Sprintf("r%d", 20+rng.IntN(10))] = fmt.Sprintf("Host(`new%d`)", step)
		case 1:
			delete(objects[p], fmt.Sprintf("r%d", rng.IntN(30)))
		case 2:
			objects[p][fmt.Sprintf("r%d", rng.IntN(30))] = fmt.Sprintf("Host(`changed%d`)", step)
		case 3: // a name another provider defines too (one provider's own twice is left to chance)
			other := providerNames[rng.IntN(3)]
			if other != p {
				objects[p][fmt.Sprintf("r%d@%s", rng.IntN(3), other)] = fmt.Sprintf("Host(`twice%d`)", step)
			}
		case 4:
			for name := range objects[p] {
				if len(name) > 4 {
					delete(objects[p], name)
				}
			}
		}
		if rng.IntN(40) == 0 {
			objects[p] = map[string]string{} // the provider's objects all gone
		}

		views[p] = build(p, step)
		st.accept(views[p])
		if rng.IntN(3) == 0 {
			continue // several updates before a snapshot
		}
		s := st.snapshot(uint64(step))
		names := make([]string, 0, len(views))
		for _, n := range providerNames {
			if _, ok := views[n]; ok {
				names = append(names, n)
			}
		}
		cfg, problems := fullMerge(views, names)
		if !reflect.DeepEqual(s.Config.HTTP, cfg.HTTP) {
			for name, r := range cfg.HTTP.Routers {
				if !reflect.DeepEqual(s.Config.HTTP.Routers[name], r) {
					t.Errorf("router %s: got %+v, want %+v", name, s.Config.HTTP.Routers[name], r)
				}
			}
			for name, r := range cfg.HTTP.Services {
				if !reflect.DeepEqual(s.Config.HTTP.Services[name], r) {
					t.Errorf("service %s: got %+v, want %+v", name, s.Config.HTTP.Services[name], r)
				}
			}
			t.Fatalf("step %d: routers\n got %v\nwant %v", step, keysOf(s.Config.HTTP.Routers), keysOf(cfg.HTTP.Routers))
		}
		if !reflect.DeepEqual(s.Problems, problems) {
			t.Fatalf("step %d: problems\n got %v\nwant %v", step, s.Problems, problems)
		}
		for _, n := range names {
			for id, o := range views[n].Origins {
				qid := config.ObjectID{Kind: id.Kind, Name: config.Qualify(id.Name, n)}
				if got := s.Origins.Origin(qid); got != o && cfg.HTTP.Routers[qid.Name] == views[n].Config.HTTP.Routers[id.Name] {
					t.Fatalf("step %d: origin of %v = %q, want %q", step, qid, got, o)
				}
			}
		}
		if last != nil {
			for name, r := range s.Config.HTTP.Routers {
				if old := last.Config.HTTP.Routers[name]; old != nil && old != r && reflect.DeepEqual(old, r) {
					t.Fatalf("step %d: unchanged router %s is a new pointer", step, name)
				}
			}
		}
		last = s
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	return out
}

// TestSnapshotFromEmpty merges two providers that had no objects at the
// last snapshot and have some now.
func TestSnapshotFromEmpty(t *testing.T) {
	st := newState()
	empty := func(p string) providers.Update { return providers.Update{Provider: p, Config: &config.Config{}} }
	with := func(p string) providers.Update {
		return providers.Update{Provider: p, Config: &config.Config{HTTP: config.HTTP{
			Routers: map[string]*config.Router{"web": {Rule: "Host(`" + p + "`)", Service: "web"}}}}}
	}
	st.accept(empty("consul"))
	st.accept(empty("file"))
	st.snapshot(1)
	st.accept(with("consul"))
	st.accept(with("file"))
	if s := st.snapshot(2); len(s.Config.HTTP.Routers) != 2 {
		t.Fatalf("routers %v", keysOf(s.Config.HTTP.Routers))
	}
}
