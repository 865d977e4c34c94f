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
