package config

import (
	"maps"
	"reflect"
	"testing"
)

// TestValidateNext checks that validating a configuration after the one it
// replaces, object pointers shared where unchanged, finds exactly what
// Validate finds, step after step.
func TestValidateNext(t *testing.T) {
	lb := func(url string) *Service {
		return &Service{LoadBalancer: &LoadBalancer{Servers: []Server{{URL: url}}}}
	}
	first := &Config{HTTP: HTTP{
		Routers: map[string]*Router{
			"a":      {Rule: "Host(`a`)", Service: "a"},
			"orphan": {Rule: "Host(`o`)", Service: "later", Middlewares: []string{"mw"}},
			"bad":    {Service: "a", Priority: -1},
		},
		Services: map[string]*Service{
			"a":        lb("http://127.0.0.1:1"),
			"broken":   lb("ftp://x"),
			"weighted": {Weighted: &Weighted{Services: []WeightedService{{Name: "a"}, {Name: "later"}}}},
		},
		Middlewares: map[string]*Middleware{
			"pages": {Errors: &ErrorPages{Status: []string{"500"}, Service: "later"}},
		},
	}}
	type edit struct {
		name string
		do   func(c *Config)
	}
	edits := []edit{
		{"nothing", func(*Config) {}},
		{"add the referenced service and middleware", func(c *Config) {
			c.HTTP.Services["later"] = lb("http://127.0.0.1:2")
			c.HTTP.Middlewares["mw"] = &Middleware{StripPrefix: &StripPrefix{Prefixes: []string{"/x"}}}
		}},
		{"fix a router", func(c *Config) { c.HTTP.Routers["bad"] = &Router{Rule: "Host(`b`)", Service: "a"} }},
		{"break a service", func(c *Config) { c.HTTP.Services["a"] = lb("") }},
		{"remove the referenced service", func(c *Config) { delete(c.HTTP.Services, "later") }},
		{"remove a broken service", func(c *Config) { delete(c.HTTP.Services, "broken") }},
		{"break a middleware", func(c *Config) { c.HTTP.Middlewares["mw"] = &Middleware{} }},
	}
	prevCfg := first
	prev := ValidateNext(first, nil)
	if !reflect.DeepEqual(prev.Problems, Validate(first)) {
		t.Fatalf("first: got %v, want %v", prev.Problems, Validate(first))
	}
	for _, e := range edits {
		c := &Config{HTTP: HTTP{
			Routers:     maps.Clone(prevCfg.HTTP.Routers),
			Services:    maps.Clone(prevCfg.HTTP.Services),
			Middlewares: maps.Clone(prevCfg.HTTP.Middlewares),
		}}
		e.do(c)
		next := ValidateNext(c, prev)
		if want := Validate(c); !reflect.DeepEqual(next.Problems, want) {
			t.Fatalf("%s:\n got %v\nwant %v", e.name, next.Problems, want)
		}
		prevCfg, prev = c, next
	}
}
