package config

import (
	"maps"
	"reflect"
	"testing"
)

// TestQualifiedNext checks that qualifying a configuration from the one it
// replaces gives what Qualified gives, and keeps the qualified form of the
// objects that did not change.
func TestQualifiedNext(t *testing.T) {
	first := &Config{HTTP: HTTP{
		Routers: map[string]*Router{
			"a":   {Rule: "Host(`a`)", Service: "a", Middlewares: []string{"m", "auth@file"}},
			"tls": {Rule: "Host(`t`)", Service: "a", TLS: &RouterTLS{Options: "strict"}},
		},
		Services: map[string]*Service{
			"a": {LoadBalancer: &LoadBalancer{Servers: []Server{{URL: "http://127.0.0.1:1"}}, ServersTransport: "tr"}},
			"w": {Weighted: &Weighted{Services: []WeightedService{{Name: "a"}}}},
		},
		Middlewares: map[string]*Middleware{
			"m":     {Chain: &Chain{Middlewares: []string{"n"}}},
			"pages": {Errors: &ErrorPages{Service: "a"}},
		},
	}}
	edits := []func(c *Config){
		func(*Config) {},
		func(c *Config) { c.HTTP.Routers["b"] = &Router{Rule: "Host(`b`)", Service: "w"} },
		func(c *Config) { c.HTTP.Routers["a"] = &Router{Rule: "Host(`a2`)", Service: "a"} },
		func(c *Config) { delete(c.HTTP.Routers, "tls") },
		func(c *Config) { delete(c.HTTP.Services, "w"); c.HTTP.Services["x"] = &Service{} },
		func(c *Config) { c.HTTP.Middlewares = nil },
		func(c *Config) { c.HTTP.Middlewares = map[string]*Middleware{"m": {}} },
	}
	prev, prevOut := first, first.Qualified("file")
	for i, edit := range edits {
		c := &Config{HTTP: HTTP{Routers: maps.Clone(prev.HTTP.Routers), Services: maps.Clone(prev.HTTP.Services),
			Middlewares: maps.Clone(prev.HTTP.Middlewares)}}
		edit(c)
		got := c.QualifiedNext("file", prev, prevOut)
		if want := c.Qualified("file"); !reflect.DeepEqual(got, want) {
			t.Fatalf("edit %d:\n got %+v\nwant %+v", i, got.HTTP, want.HTTP)
		}
		for name, r := range c.HTTP.Routers {
			if prev.HTTP.Routers[name] == r && got.HTTP.Routers[name+"@file"] != prevOut.HTTP.Routers[name+"@file"] {
				t.Errorf("edit %d: unchanged router %s qualified again", i, name)
			}
		}
		prev, prevOut = c, got
	}
}
