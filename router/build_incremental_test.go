package router

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// randomEdit returns a copy of c (maps copied, unchanged objects shared,
// as the merger hands them on) with one to three random changes.
func randomEdit(rng *rand.Rand, c *config.Config, step int) *config.Config {
	next := &config.Config{HTTP: config.HTTP{
		Routers:     maps.Clone(c.HTTP.Routers),
		Services:    maps.Clone(c.HTTP.Services),
		Middlewares: maps.Clone(c.HTTP.Middlewares),
	}}
	pick := func(m map[string]*config.Router) string {
		keys := sortedKeys(m)
		if len(keys) == 0 {
			return ""
		}
		return keys[rng.IntN(len(keys))]
	}
	rules := []string{"Host(`a%d.test`)", "Host(`*.w%d.test`)", "PathPrefix(`/p%d`)", "Host(`a%d.test`) || Host(`b.test`)",
		"Host(`shared.test`) && Path(`/x%d`)", "Host(`broken%d`"}
	svcName := func() string { return fmt.Sprintf("s%d", rng.IntN(12)) }
	for range 1 + rng.IntN(3) {
		switch rng.IntN(9) {
		case 0, 1: // add or replace a router
			r := &config.Router{Rule: fmt.Sprintf(rules[rng.IntN(len(rules))], rng.IntN(20)), Service: svcName(),
				Priority: rng.IntN(3)}
			if rng.IntN(4) == 0 {
				r.Middlewares = []string{fmt.Sprintf("m%d", rng.IntN(4))}
			}
			if rng.IntN(5) == 0 {
				r.EntryPoints = []string{"websecure"}
			}
			if rng.IntN(6) == 0 {
				r.TLS = &config.RouterTLS{}
			}
			next.HTTP.Routers[fmt.Sprintf("r%d", rng.IntN(30))] = r
		case 2:
			delete(next.HTTP.Routers, pick(next.HTTP.Routers))
		case 3: // change a router's service only
			if name := pick(next.HTTP.Routers); name != "" {
				cp := *next.HTTP.Routers[name]
				cp.Service = svcName()
				next.HTTP.Routers[name] = &cp
			}
		case 4, 5: // add or replace a service, sometimes broken
			url := fmt.Sprintf("http://127.0.0.1:%d", 1000+step)
			if rng.IntN(5) == 0 {
				url = "ftp://bad"
			}
			next.HTTP.Services[svcName()] = lbService(url)
		case 6:
			delete(next.HTTP.Services, svcName())
		case 7: // a middleware: headers, a chain, or a bad one
			name := fmt.Sprintf("m%d", rng.IntN(4))
			switch rng.IntN(3) {
			case 0:
				next.HTTP.Middlewares[name] = &config.Middleware{Headers: &config.Headers{
					CustomResponseHeaders: map[string]string{"X-Step": fmt.Sprint(step)}}}
			case 1:
				next.HTTP.Middlewares[name] = &config.Middleware{Chain: &config.Chain{Middlewares: []string{"m0"}}}
			default:
				next.HTTP.Middlewares[name] = &config.Middleware{}
			}
		case 8:
			delete(next.HTTP.Middlewares, fmt.Sprintf("m%d", rng.IntN(4)))
		}
	}
	return next
}

// tableView is what a table serves and reports, without its pointers.
type tableView struct {
	Routers, Services, Middlewares string
	Problems                       []config.Problem
	Sets                           []map[string][]string
}

func viewOf(t *testing.T, tbl *Table) tableView {
	t.Helper()
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	services := tbl.Services()
	for i := range services {
		services[i].ServerHealth, services[i].ServerStatus = nil, nil
	}
	v := tableView{Routers: js(tbl.Routers()), Services: js(services), Middlewares: js(tbl.Middlewares()),
		Problems: tbl.Problems()}
	for _, e := range tbl.entries {
		for _, set := range []routeSet{e.plain, e.secure} {
			m := map[string][]string{}
			names := func(rs []*route) []string {
				var out []string
				for _, r := range rs {
					out = append(out, r.name)
				}
				return out
			}
			for h, rs := range set.byHost {
				m["host "+h] = names(rs)
			}
			for p, rs := range set.byParent {
				m["parent "+p] = names(rs)
			}
			if len(set.any) > 0 {
				m["any"] = names(set.any)
			}
			v.Sets = append(v.Sets, m)
		}
	}
	return v
}

// TestBuildIncremental rebuilds a table after hundreds of random edits and
// checks that each table built from the previous one serves and reports
// exactly what a table built from nothing does.
func TestBuildIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4))
	opts := testOptions(nil)
	cfg := &config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{},
		Middlewares: map[string]*config.Middleware{}}}
	for i := range 12 {
		cfg.HTTP.Services[fmt.Sprintf("s%d", i)] = lbService(fmt.Sprintf("http://127.0.0.1:%d", 900+i))
	}
	for i := range 30 {
		cfg.HTTP.Routers[fmt.Sprintf("r%d", i)] = &config.Router{Rule: fmt.Sprintf("Host(`a%d.test`)", i), Service: fmt.Sprintf("s%d", i%12)}
	}
	prev := Build(Input{Config: cfg}, opts)
	for step := range 400 {
		next := randomEdit(rng, cfg, step)
		o := opts
		o.Previous = prev
		inc := Build(Input{Config: next}, o)
		fresh := Build(Input{Config: next}, opts)
		if got, want := viewOf(t, inc), viewOf(t, fresh); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: the table built from the previous one differs from one built afresh:\n got %+v\nwant %+v",
				step, got, want)
		}
		prev, cfg = inc, next
	}
}

// TestBuildKeepsUnchangedRoutes changes one router among many and checks
// that every other route, and the route sets it is not in, are the
// previous table's.
func TestBuildKeepsUnchangedRoutes(t *testing.T) {
	cfg := manyRouters(200)
	opts := testOptions(nil)
	prev := Build(Input{Config: cfg}, opts)
	next := &config.Config{HTTP: config.HTTP{Routers: maps.Clone(cfg.HTTP.Routers), Services: cfg.HTTP.Services}}
	next.HTTP.Routers["r7"] = &config.Router{Rule: "Host(`changed.example.com`)", Service: "r7"}
	o := opts
	o.Previous = prev
	tbl := Build(Input{Config: next}, o)
	for name, info := range tbl.routers {
		old := prev.routers[name]
		if info.route == nil || old.route == nil {
			t.Fatalf("%s: no route", name)
		}
		if reused := info.route == old.route; reused == (name == "r7") {
			t.Errorf("%s: route reused = %v", name, reused)
		}
	}
	if tbl.services["r7"] != prev.services["r7"] {
		t.Error("the changed router's service was rebuilt")
	}
	if !slices.Equal(tbl.names.routers, prev.names.routers) {
		t.Error("router names differ")
	}
	if got := tbl.entries[0].plain.byHost["host8.example.com"]; len(got) != 1 || got[0] != prev.routers["r8"].route {
		t.Errorf("host8: %v", got)
	}
	if got := tbl.entries[0].plain.byHost["changed.example.com"]; len(got) != 1 || got[0].name != "r7" {
		t.Errorf("changed.example.com: %v", got)
	}
	if got := tbl.entries[0].plain.byHost["host7.example.com"]; got != nil {
		t.Errorf("host7 still routed: %v", got)
	}
	if got := prev.entries[0].plain.byHost["host7.example.com"]; len(got) != 1 || got[0].name != "r7" {
		t.Errorf("the previous table changed: host7 %v", got)
	}
}
