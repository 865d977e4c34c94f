package config

import (
	"strings"
	"testing"
)

func TestValidateServiceKinds(t *testing.T) {
	neg, big := -2, int64(-5)
	lb := func(mod func(*LoadBalancer)) *Service {
		l := &LoadBalancer{Servers: []Server{{URL: "http://127.0.0.1:1"}}}
		mod(l)
		return &Service{LoadBalancer: l}
	}
	cfg := &Config{HTTP: HTTP{Services: map[string]*Service{
		"ok": lb(func(l *LoadBalancer) {
			l.Strategy = "p2c"
			l.HealthCheck = &HealthCheck{Path: "/health", Status: "200-299", Port: 8081}
			l.PassiveHealthCheck = &PassiveHealthCheck{MaxFailedAttempts: 3}
			l.Sticky = &Sticky{Cookie: &Cookie{Name: "pin", SameSite: "Lax"}}
		}),
		"strategy": lb(func(l *LoadBalancer) { l.Strategy = "random" }),
		"check": lb(func(l *LoadBalancer) {
			l.HealthCheck = &HealthCheck{Path: "health", Port: 70000, Scheme: "ftp", Status: "600", Interval: -1}
		}),
		"passive":  lb(func(l *LoadBalancer) { l.PassiveHealthCheck = &PassiveHealthCheck{MaxFailedAttempts: -1} }),
		"sticky":   lb(func(l *LoadBalancer) { l.Sticky = &Sticky{Cookie: &Cookie{Name: "a b", SameSite: "sometimes"}} }),
		"two":      {LoadBalancer: &LoadBalancer{}, Failover: &Failover{Service: "ok", Fallback: "ok"}},
		"weighted": {Weighted: &Weighted{Services: []WeightedService{{Name: "ok", Weight: &neg}, {Name: "ghost"}}}},
		"mirror":   {Mirroring: &Mirroring{Service: "ok", Mirrors: []Mirror{{Name: "ok", Percent: 101}}, MaxBodySize: &big}},
		"failover": {Failover: &Failover{Service: "ok"}},
	}}}
	got := map[string]bool{}
	for _, p := range Validate(cfg) {
		got[p.Error()] = true
	}
	want := []string{
		`service strategy: loadBalancer.strategy: unknown strategy "random" (want wrr, p2c or leastconn)`,
		`service check: loadBalancer.healthCheck.path: path "health" must start with /`,
		"service check: loadBalancer.healthCheck.port: port 70000 out of 1-65535",
		`service check: loadBalancer.healthCheck.scheme: unknown scheme "ftp" (want http, https or h2c)`,
		`service check: loadBalancer.healthCheck.status: invalid status "600" (want a code like 200 or a range like 200-299)`,
		"service check: loadBalancer.healthCheck.interval: negative duration -1ns",
		"service passive: loadBalancer.passiveHealthCheck.maxFailedAttempts: negative value -1",
		`service sticky: loadBalancer.sticky.cookie.sameSite: unknown value "sometimes" (want none, lax or strict)`,
		`service sticky: loadBalancer.sticky.cookie.name: invalid cookie name "a b"`,
		"service two: want exactly one of loadBalancer, weighted, mirroring or failover, found 2",
		"service weighted: weighted.services[0].weight: negative weight -2",
		`service weighted: weighted.services[1].name: service "ghost" does not exist`,
		"service mirror: mirroring.mirrors[0].percent: percent 101 out of 0-100",
		"service mirror: mirroring.maxBodySize: invalid size -5 (want -1 or more)",
		"service failover: failover.fallback: missing",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing problem %q", w)
		}
	}
	for p := range got {
		if strings.HasPrefix(p, "service ok:") {
			t.Errorf("valid service reported: %s", p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(got), len(want), got)
	}
}

func TestQualifiedServiceReferences(t *testing.T) {
	c := &Config{HTTP: HTTP{Services: map[string]*Service{
		"w":  {Weighted: &Weighted{Services: []WeightedService{{Name: "a"}, {Name: "b@docker"}}}},
		"m":  {Mirroring: &Mirroring{Service: "a", Mirrors: []Mirror{{Name: "b", Percent: 10}}}},
		"f":  {Failover: &Failover{Service: "a", Fallback: "b@consul"}},
		"lb": {LoadBalancer: &LoadBalancer{}},
	}}}
	q := c.Qualified("file")
	s := q.HTTP.Services
	if got := s["w@file"].Weighted.Services; got[0].Name != "a@file" || got[1].Name != "b@docker" {
		t.Errorf("weighted: %+v", got)
	}
	if m := s["m@file"].Mirroring; m.Service != "a@file" || m.Mirrors[0].Name != "b@file" {
		t.Errorf("mirroring: %+v", m)
	}
	if f := s["f@file"].Failover; f.Service != "a@file" || f.Fallback != "b@consul" {
		t.Errorf("failover: %+v", f)
	}
	if c.HTTP.Services["w"].Weighted.Services[0].Name != "a" || c.HTTP.Services["f"].Failover.Service != "a" {
		t.Error("Qualified modified its input")
	}
	if s["lb@file"] != c.HTTP.Services["lb"] {
		t.Error("a service without references should be shared, not copied")
	}
}

func TestStatusRangeBounds(t *testing.T) {
	tests := []struct {
		in     StatusRange
		lo, hi int
		ok     bool
	}{
		{"", 200, 399, true}, {"204", 204, 204, true}, {"200-299", 200, 299, true}, {" 500 - 599 ", 500, 599, true},
		{"99", 0, 0, false}, {"300-200", 0, 0, false}, {"2xx", 0, 0, false}, {"200-", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			lo, hi, err := tt.in.Bounds()
			if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
				t.Fatalf("Bounds(%q) = %d, %d, %v", tt.in, lo, hi, err)
			}
		})
	}
}
