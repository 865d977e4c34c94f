package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	neg := -1
	cfg := &Config{HTTP: HTTP{
		Routers: map[string]*Router{
			"ok":       {Rule: "Host(`a`)", Service: "svc"},
			"no-rule":  {Service: "svc"},
			"no-svc":   {Rule: "Host(`a`)"},
			"missing":  {Rule: "Host(`a`)", Service: "nope", Middlewares: []string{"ghost"}},
			"priority": {Rule: "Host(`a`)", Service: "svc", Priority: -3},
		},
		Services: map[string]*Service{
			"svc":     {LoadBalancer: &LoadBalancer{Servers: []Server{{URL: "http://127.0.0.1:1"}}}},
			"bad-url": {LoadBalancer: &LoadBalancer{Servers: []Server{{URL: "ftp://x"}, {URL: "http://"}, {URL: "http://ok", Weight: &neg}}}},
			"empty":   {},
		},
		Middlewares: map[string]*Middleware{
			"two":  {AddPrefix: &AddPrefix{Prefix: "/a"}, StripPrefix: &StripPrefix{}},
			"none": {},
		},
	}, TLS: TLS{Certificates: []Certificate{{CertFile: "c.pem"}}}}
	got := map[string]bool{}
	for _, p := range Validate(cfg) {
		got[p.Error()] = true
	}
	want := []string{
		"router no-rule: rule: no rule",
		"router no-svc: service: no service",
		`router missing: service: service "nope" does not exist`,
		`router missing: middlewares[0]: middleware "ghost" does not exist`,
		"router priority: priority: negative priority -3",
		`service bad-url: loadBalancer.servers[0].url: invalid URL "ftp://x": scheme must be http, https or h2c`,
		`service bad-url: loadBalancer.servers[1].url: invalid URL "http://": no host`,
		"service bad-url: loadBalancer.servers[2].weight: negative weight -1",
		"service empty: want exactly one of loadBalancer, weighted, mirroring or failover, found 0",
		"middleware two: want exactly one middleware type, found 2",
		"middleware none: want exactly one middleware type, found 0",
		"certificate tls.certificates[0]: keyFile: missing",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing problem %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(got), len(want), got)
	}
}

func TestQualified(t *testing.T) {
	cfg := &Config{HTTP: HTTP{
		Routers:     map[string]*Router{"web": {Rule: "Host(`a`)", Service: "app", Middlewares: []string{"auth@file", "local"}}},
		Services:    map[string]*Service{"app": {}},
		Middlewares: map[string]*Middleware{"local": {Chain: &Chain{Middlewares: []string{"x", "y@consul"}}}},
	}}
	q := cfg.Qualified("docker")
	r := q.HTTP.Routers["web@docker"]
	if r == nil || r.Service != "app@docker" || strings.Join(r.Middlewares, ",") != "auth@file,local@docker" {
		t.Fatalf("router not qualified: %+v", r)
	}
	if q.HTTP.Services["app@docker"] == nil {
		t.Fatal("service not qualified")
	}
	if got := strings.Join(q.HTTP.Middlewares["local@docker"].Chain.Middlewares, ","); got != "x@docker,y@consul" {
		t.Fatalf("chain not qualified: %s", got)
	}
	if cfg.HTTP.Routers["web"].Service != "app" {
		t.Fatal("Qualified modified its input")
	}
	if ProviderOf("web@docker") != "docker" || ProviderOf("web") != "" {
		t.Fatal("ProviderOf")
	}
}

func TestDuration(t *testing.T) {
	tests := map[string]time.Duration{"10s": 10 * time.Second, "250ms": 250 * time.Millisecond, "3": 3 * time.Second, "": 0}
	for in, want := range tests {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%q: got %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("accepted a bad duration")
	}
}
