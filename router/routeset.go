package router

import (
	"maps"
	"slices"

	"github.com/ferryproxy/ferry/router/rule"
)

// routeDelta collects, by route set, the routes a build removes and adds
// relative to the previous table.
type routeDelta struct {
	remove, add map[bind][]*route
}

func newRouteDelta() *routeDelta {
	return &routeDelta{remove: map[bind][]*route{}, add: map[bind][]*route{}}
}

// replace records that old (nil: none) gives way to r (nil: none) in the
// sets they are bound to; nothing when they are the same route.
func (d *routeDelta) replace(old, r *route) {
	if old == r {
		return
	}
	if old != nil {
		for _, bd := range old.binds {
			d.remove[bd] = append(d.remove[bd], old)
		}
	}
	if r != nil {
		for _, bd := range r.binds {
			d.add[bd] = append(d.add[bd], r)
		}
	}
}

// with returns s without the routes of remove and with those of add. s is
// not modified: the result shares its maps and lists where nothing changed,
// and is s itself when nothing did.
func (s routeSet) with(remove, add []*route) routeSet {
	if len(remove) == 0 && len(add) == 0 {
		return s
	}
	e := setEdit{out: s}
	for _, r := range remove {
		e.each(r, func(l []*route) []*route { return slices.DeleteFunc(l, func(x *route) bool { return x == r }) })
	}
	for _, r := range add {
		e.each(r, func(l []*route) []*route { return append(l, r) })
	}
	e.finish()
	return e.out
}

// setEdit is one routeSet.with in progress. Maps are cloned and lists
// copied before their first change (then owned), so the set being edited
// stays intact.
type setEdit struct {
	out              routeSet
	hosts, parents   map[string]bool // keys whose lists are owned
	clonedH, clonedP bool
	anyOwned         bool
}

// each applies f to the list of every key r is indexed under.
func (e *setEdit) each(r *route, f func([]*route) []*route) {
	hosts := r.rule.Hosts()
	if len(hosts) == 0 {
		if !e.anyOwned {
			e.out.any = slices.Clone(e.out.any)
			e.anyOwned = true
		}
		e.out.any = f(e.out.any)
		return
	}
	for _, h := range hosts {
		if parent, ok := rule.WildcardParent(h); ok {
			edit(&e.out.byParent, &e.clonedP, &e.parents, parent, f)
		} else {
			edit(&e.out.byHost, &e.clonedH, &e.hosts, h, f)
		}
	}
}

// edit applies f to the list of key in *m, cloning *m before its first
// change (cloned) and copying the list before its first (owned).
func edit(m *map[string][]*route, cloned *bool, owned *map[string]bool, key string, f func([]*route) []*route) {
	if !*cloned {
		*m = maps.Clone(*m)
		if *m == nil {
			*m = make(map[string][]*route)
		}
		*cloned = true
	}
	if *owned == nil {
		*owned = make(map[string]bool)
	}
	l := (*m)[key]
	if !(*owned)[key] {
		l = slices.Clone(l)
		(*owned)[key] = true
	}
	(*m)[key] = f(l)
}

// finish sorts the changed lists and drops the keys left without routes.
func (e *setEdit) finish() {
	sortKeys := func(m map[string][]*route, keys map[string]bool) {
		for k := range keys {
			if len(m[k]) == 0 {
				delete(m, k)
				continue
			}
			slices.SortFunc(m[k], compareRoutes)
		}
	}
	sortKeys(e.out.byHost, e.hosts)
	sortKeys(e.out.byParent, e.parents)
	if e.anyOwned {
		slices.SortFunc(e.out.any, compareRoutes)
	}
	if len(e.out.byHost) == 0 {
		e.out.byHost = nil
	}
	if len(e.out.byParent) == 0 {
		e.out.byParent = nil
	}
	if len(e.out.any) == 0 {
		e.out.any = nil
	}
}

// compareRoutes orders routes as route.before does.
func compareRoutes(a, b *route) int {
	if a.before(b) {
		return -1
	}
	if b.before(a) {
		return 1
	}
	return 0
}
