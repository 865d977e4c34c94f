package merge

import (
	"fmt"
	"testing"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// benchState holds 3 providers with 3,000 routers, services and origins each.
func benchState(b *testing.B) *state {
	b.Helper()
	st := newState()
	for _, p := range []string{"docker", "consul", "file"} {
		c := &config.Config{HTTP: config.HTTP{
			Routers:     make(map[string]*config.Router, 3000),
			Services:    make(map[string]*config.Service, 3000),
			Middlewares: map[string]*config.Middleware{"strip": {StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}}},
		}}
		origins := make(map[config.ObjectID]string, 3000)
		for i := range 3000 {
			name := fmt.Sprintf("app%d", i)
			c.HTTP.Routers[name] = &config.Router{
				Rule:        fmt.Sprintf("Host(`%s.example.com`)", name),
				Service:     name,
				Middlewares: []string{"strip", "auth@file"},
			}
			c.HTTP.Services[name] = &config.Service{LoadBalancer: &config.LoadBalancer{
				Servers: []config.Server{{URL: fmt.Sprintf("http://127.0.0.1:%d", 10000+i)}},
			}}
			origins[config.ObjectID{Kind: config.KindRouter, Name: name}] = "container " + name
		}
		if !st.accept(providers.Update{Provider: p, Config: c, Origins: origins}) {
			b.Fatal("update not accepted")
		}
	}
	return st
}

// BenchmarkSnapshot merges 3 providers × 3,000 routers. "requalify" is the
// cost when every provider changed since the last snapshot; "cached" when
// none did (only the merge into fresh maps).
func BenchmarkSnapshot(b *testing.B) {
	b.Run("requalify", func(b *testing.B) {
		st := benchState(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			for _, e := range st.entries {
				e.qualified = nil
			}
			if s := st.snapshot(uint64(i)); len(s.Config.HTTP.Routers) != 9000 {
				b.Fatalf("%d routers", len(s.Config.HTTP.Routers))
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		st := benchState(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if s := st.snapshot(uint64(i)); len(s.Config.HTTP.Routers) != 9000 {
				b.Fatalf("%d routers", len(s.Config.HTTP.Routers))
			}
		}
	})
}

// BenchmarkAcceptUnchanged is the cost of recognising a resent, unchanged
// view of 3,000 routers built afresh by its provider.
func BenchmarkAcceptUnchanged(b *testing.B) {
	st := benchState(b)
	fresh := benchState(b)
	u := providers.Update{Provider: "docker", Config: &fresh.entries["docker"].cfg, Origins: fresh.entries["docker"].origins}
	b.ReportAllocs()
	for b.Loop() {
		if st.accept(u) {
			b.Fatal("unchanged update accepted")
		}
	}
}

// catalogView is a provider's view of n services with a router each, built
// afresh as the Consul and Docker providers do on every change; service
// tag's server port differs.
func catalogView(n, tag int) providers.Update {
	c := &config.Config{HTTP: config.HTTP{
		Routers:  make(map[string]*config.Router, n),
		Services: make(map[string]*config.Service, n),
	}}
	origins := make(map[config.ObjectID]string, n)
	for i := range n {
		name := fmt.Sprintf("app%d", i)
		port := 10000 + i
		if i == tag {
			port = 1
		}
		c.HTTP.Routers[name] = &config.Router{Rule: fmt.Sprintf("Host(`%s.example.com`)", name), Service: name}
		c.HTTP.Services[name] = &config.Service{LoadBalancer: &config.LoadBalancer{
			Servers: []config.Server{{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}},
		}}
		origins[config.ObjectID{Kind: config.KindService, Name: name}] = "instance " + name
	}
	return providers.Update{Provider: "consulcatalog", Config: c, Origins: origins}
}

// BenchmarkUpdate measures what the merger does with one update of a
// provider holding 1,000 or 10,000 services (next to Ferry's internal
// provider): accepting a fresh view in which one service changed, and
// merging it into a snapshot; and recognising a fresh view that changed
// nothing.
func BenchmarkUpdate(b *testing.B) {
	internal := providers.Update{Provider: "internal", Config: &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{"api": {Rule: "PathPrefix(`/api`)", Service: "api@internal"}},
	}}}
	for _, n := range []int{1000, 10000} {
		views := []providers.Update{catalogView(n, -1), catalogView(n, n/2)}
		b.Run(fmt.Sprintf("services=%d/one-change", n), func(b *testing.B) {
			st := newState()
			st.accept(internal)
			st.accept(catalogView(n, -1))
			st.snapshot(0)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if !st.accept(views[(i+1)%2]) {
					b.Fatal("changed view dropped")
				}
				if s := st.snapshot(uint64(i)); len(s.Config.HTTP.Services) != n {
					b.Fatalf("%d services", len(s.Config.HTTP.Services))
				}
			}
		})
		b.Run(fmt.Sprintf("services=%d/unchanged", n), func(b *testing.B) {
			st := newState()
			st.accept(catalogView(n, -1))
			fresh := catalogView(n, -1)
			b.ReportAllocs()
			for b.Loop() {
				if st.accept(fresh) {
					b.Fatal("unchanged view accepted")
				}
			}
		})
	}
}
