package acme

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"example.com", ""},
		{"a.b.example.com", ""},
		{"xn--bcher-kva.example", ""},
		{"192.0.2.1", ""},
		{"2001:db8::1", ""},
		{"", "empty name"},
		{"*.example.com", ""},
		{"*.com", "not a name"},
		{"a.*.example.com", "whole first label"},
		{"**.example.com", "whole first label"},
		{"*.192.0.2.1", "not a name"},
		{"localhost", "not a name"},
		{"bad name.com", "not a name"},
		{"a/b.com", "not a name"},
		{"host.com:443", "not a name"},
		{".example.com", "not a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Decide(tt.name)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Decide(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decide(%q) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func routerCfg(routers map[string]*config.Router) *config.Config {
	return &config.Config{HTTP: config.HTTP{Routers: routers}}
}

func TestRequests(t *testing.T) {
	known := func(r string) bool { return r == "le" || r == "other" }
	rd := &ruleDomains{cur: map[string][]string{}}
	tests := []struct {
		name   string
		router *config.Router
		want   Request
	}{
		{
			name:   "hosts from the rule",
			router: &config.Router{Rule: "(Host(`B.example.com`) || Host(`a.example.com`)) && PathPrefix(`/x`)", TLS: &config.RouterTLS{CertResolver: "le"}},
			want:   Request{Router: "r", Resolver: "le", Domains: []string{"a.example.com", "b.example.com"}},
		},
		{
			name: "tls.domains win over the rule",
			router: &config.Router{Rule: "Host(`rule.example.com`)", TLS: &config.RouterTLS{CertResolver: "le",
				Domains: []config.Domain{{Main: "main.example.com", SANs: []string{"san.example.com", "MAIN.example.com."}}}}},
			want: Request{Router: "r", Resolver: "le", Domains: []string{"main.example.com", "san.example.com"}},
		},
		{
			name:   "negated hosts are not requested",
			router: &config.Router{Rule: "Host(`a.example.com`) && !Host(`b.example.com`)", TLS: &config.RouterTLS{CertResolver: "le"}},
			want:   Request{Router: "r", Resolver: "le", Domains: []string{"a.example.com"}},
		},
		{
			name:   "unknown resolver",
			router: &config.Router{Rule: "Host(`a.example.com`)", TLS: &config.RouterTLS{CertResolver: "nope"}},
			want:   Request{Router: "r", Resolver: "nope", Errors: []string{`certificate resolver "nope" is not defined`}},
		},
		{
			name:   "no host in the rule",
			router: &config.Router{Rule: "PathPrefix(`/x`)", TLS: &config.RouterTLS{CertResolver: "le"}},
			want: Request{Router: "r", Resolver: "le",
				Errors: []string{"no Host(...) in the rule and no tls.domains: no name to request a certificate for"}},
		},
		{
			name: "wildcard refused without dnsChallenge, the rest kept",
			router: &config.Router{Rule: "Host(`a.example.com`)", TLS: &config.RouterTLS{CertResolver: "le",
				Domains: []config.Domain{{Main: "*.example.com", SANs: []string{"example.com"}}}}},
			want: Request{Router: "r", Resolver: "le", Domains: []string{"example.com"},
				Errors: []string{`*.example.com: a wildcard name needs the DNS-01 challenge: certificate resolver "le" has no dnsChallenge`}},
		},
		{
			name:   "bad rule",
			router: &config.Router{Rule: "Host(`a.example.com`", TLS: &config.RouterTLS{CertResolver: "le"}},
			want:   Request{Router: "r", Resolver: "le"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Requests(routerCfg(map[string]*config.Router{"r": tt.router}), known, rd.get)
			if len(got) != 1 {
				t.Fatalf("got %d requests, want 1", len(got))
			}
			g := got[0]
			if tt.name == "bad rule" {
				if len(g.Errors) != 1 || !strings.HasPrefix(g.Errors[0], "rule: ") || len(g.Domains) != 0 {
					t.Fatalf("got %+v, want one rule error and no domain", g)
				}
				return
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("got %+v\nwant %+v", g, tt.want)
			}
		})
	}
	t.Run("routers without certResolver are ignored", func(t *testing.T) {
		got := Requests(routerCfg(map[string]*config.Router{
			"plain": {Rule: "Host(`a.example.com`)"},
			"tls":   {Rule: "Host(`a.example.com`)", TLS: &config.RouterTLS{}},
		}), known, rd.get)
		if len(got) != 0 {
			t.Fatalf("got %+v, want none", got)
		}
	})
}

func TestRequestsTCP(t *testing.T) {
	known := func(r string) bool { return r == "le" }
	rd := &ruleDomains{cur: map[string][]string{}}
	cfg := &config.Config{
		HTTP: config.HTTP{Routers: map[string]*config.Router{
			"db": {Rule: "Host(`web.example.com`)", TLS: &config.RouterTLS{CertResolver: "le"}},
		}},
		TCP: config.TCP{Routers: map[string]*config.TCPRouter{
			"db":          {Rule: "HostSNI(`DB.example.com`)", TLS: &config.TCPRouterTLS{CertResolver: "le"}},
			"passthrough": {Rule: "HostSNI(`pt.example.com`)", TLS: &config.TCPRouterTLS{CertResolver: "le", Passthrough: true}},
			"any":         {Rule: "HostSNI(`*`)", TLS: &config.TCPRouterTLS{CertResolver: "le"}},
		}},
	}
	got := Requests(cfg, known, rd.get)
	want := []Request{
		{Router: "any", TCP: true, Resolver: "le", Errors: []string{"no HostSNI(...) name in the rule and no tls.domains: no name to request a certificate for"}},
		{Router: "db", Resolver: "le", Domains: []string{"web.example.com"}},
		{Router: "db", TCP: true, Resolver: "le", Domains: []string{"db.example.com"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestWanted(t *testing.T) {
	reqs := []Request{
		{Router: "a", Resolver: "le", Domains: []string{"x.example.com", "y.example.com"}},
		{Router: "b", Resolver: "le", Domains: []string{"y.example.com"}},
		{Router: "c", Resolver: "other", Domains: []string{"y.example.com", "z.example.com"}},
	}
	got := Wanted(reqs)
	want := map[string]*Want{
		"x.example.com": {Resolver: "le", Routers: []string{"a"}},
		"y.example.com": {Resolver: "le", Routers: []string{"a", "b"}},
		"z.example.com": {Resolver: "other", Routers: []string{"c"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Wanted = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(reqs[2].Domains, []string{"z.example.com"}) ||
		len(reqs[2].Errors) != 1 || !strings.Contains(reqs[2].Errors[0], `y.example.com: already requested from resolver "le" by router a`) {
		t.Fatalf("conflicting request = %+v", reqs[2])
	}
}

func TestRuleDomainsGenerations(t *testing.T) {
	rd := &ruleDomains{cur: map[string][]string{}}
	rd.next()
	if _, err := rd.get("Host(`a.example.com`)", false); err != nil {
		t.Fatal(err)
	}
	rd.next()
	if len(rd.prev) != 1 || len(rd.cur) != 0 {
		t.Fatalf("after next: prev %d cur %d, want 1 0", len(rd.prev), len(rd.cur))
	}
	rd.next() // unused for a generation: dropped
	if len(rd.prev) != 0 {
		t.Fatalf("unused rule kept: %v", rd.prev)
	}
}

func BenchmarkRequests(b *testing.B) {
	routers := make(map[string]*config.Router, 1000)
	for i := range 1000 {
		routers[fmt.Sprintf("r%d", i)] = &config.Router{Rule: fmt.Sprintf("Host(`h%d.example.com`)", i),
			TLS: &config.RouterTLS{CertResolver: "le"}}
	}
	cfg := routerCfg(routers)
	rd := &ruleDomains{cur: map[string][]string{}}
	known := func(string) bool { return true }
	for b.Loop() {
		rd.next()
		Wanted(Requests(cfg, known, rd.get))
	}
}
