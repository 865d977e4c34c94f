package router

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/metrics"
)

func manyRouters(n int) *config.Config {
	cfg := &config.Config{HTTP: config.HTTP{
		Routers:  make(map[string]*config.Router, n),
		Services: make(map[string]*config.Service, n),
	}}
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		cfg.HTTP.Routers[name] = &config.Router{Rule: fmt.Sprintf("Host(`host%d.example.com`) && PathPrefix(`/api`)", i), Service: name}
		cfg.HTTP.Services[name] = lbService(fmt.Sprintf("http://127.0.0.1:%d", 10000+i%50000))
	}
	cfg.HTTP.Routers["catchall"] = &config.Router{Rule: "PathPrefix(`/static`)", Service: "r0"}
	return cfg
}

type nopHandler struct{}

func (nopHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkLookup measures finding the route of a request among 1, 100 and
// 10,000 hosts, through the entry point handler (with a handler that does
// nothing in place of the proxy).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			tbl := Build(Input{Config: manyRouters(n)}, testOptions(nil))
			for _, rs := range tbl.entries[0].plain.byHost {
				for _, r := range rs {
					r.handler = nopHandler{}
				}
			}
			sw := &Switcher{log: zap.NewNop(), entryPoints: testOptions(nil).EntryPoints}
			sw.table.Store(tbl)
			h := sw.Handler(0, false)
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://host%d.example.com/api/users", n/2), nil)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkBuild measures building a table of 10,000 routers and services
// from scratch ("fresh"), from a table of one router ("from-one"), and
// rebuilding it when one router changed or was added. In "one-change" and
// "add-one" the unchanged objects are the previous configuration's, as the
// merger hands them on; in "one-change-copied" every object is a fresh
// copy of equal value.
func BenchmarkBuild(b *testing.B) {
	cfg := manyRouters(10000)
	opts := testOptions(nil)
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Build(Input{Config: cfg}, opts)
		}
	})
	b.Run("from-one", func(b *testing.B) {
		prev := Build(Input{Config: manyRouters(1)}, opts)
		b.ReportAllocs()
		for b.Loop() {
			Build(Input{Config: cfg}, testOptions(prev))
		}
	})
	edited := func(edit func(c *config.Config)) *config.Config {
		next := &config.Config{HTTP: config.HTTP{Routers: maps.Clone(cfg.HTTP.Routers), Services: maps.Clone(cfg.HTTP.Services)}}
		edit(next)
		return next
	}
	for _, bc := range []struct {
		name string
		next *config.Config
	}{
		{"one-change", edited(func(c *config.Config) {
			c.HTTP.Routers["r1"] = &config.Router{Rule: "Host(`changed.example.com`)", Service: "r1"}
		})},
		{"add-one", edited(func(c *config.Config) {
			c.HTTP.Routers["added"] = &config.Router{Rule: "Host(`added.example.com`)", Service: "added"}
			c.HTTP.Services["added"] = lbService("http://127.0.0.1:9999")
		})},
		{"one-change-copied", func() *config.Config {
			next := manyRouters(10000)
			next.HTTP.Routers["r1"].Rule = "Host(`changed.example.com`)"
			return next
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			prev := Build(Input{Config: cfg}, opts)
			b.ReportAllocs()
			for b.Loop() {
				Build(Input{Config: bc.next}, testOptions(prev))
			}
		})
	}
}

// BenchmarkServeMetrics measures the entry handler with metrics off and on
// (entry point, router and service labels), a handler that does nothing in
// place of the proxy.
func BenchmarkServeMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			opts := testOptions(nil)
			var reg *metrics.Registry
			if on {
				reg = metrics.New(metrics.Options{EntryPoints: true, Routers: true, Services: true})
				opts.Metrics = reg
			}
			tbl := Build(Input{Config: manyRouters(100)}, opts)
			for _, rs := range tbl.entries[0].plain.byHost {
				for _, r := range rs {
					r.handler = nopHandler{}
				}
			}
			sw := &Switcher{log: zap.NewNop(), entryPoints: opts.EntryPoints, metrics: reg}
			sw.table.Store(tbl)
			h := sw.Handler(0, false)
			req := httptest.NewRequest(http.MethodGet, "http://host50.example.com/api/users", nil)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
