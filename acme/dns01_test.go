package acme

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestDNSChallengeCheck(t *testing.T) {
	tests := []struct {
		name string
		d    DNSChallenge
		want string // substring of the only problem; "" for none
	}{
		{"valid", DNSChallenge{Provider: "rfc2136", Resolvers: []string{"127.0.0.1:5353", "ns.example.com"}}, ""},
		{"traefik alias", DNSChallenge{Provider: "rfc2136", DelayBeforeCheck: config.Duration(time.Second)}, ""},
		{"missing provider", DNSChallenge{}, "certificatesResolvers.le.acme.dnsChallenge.provider: missing"},
		{"unknown provider", DNSChallenge{Provider: "nope"}, `dnsChallenge.provider: "nope" is not a lego DNS provider linked in this build`},
		{"bad resolver", DNSChallenge{Provider: "cloudflare", Resolvers: []string{"a b"}}, "dnsChallenge.resolvers[0]"},
		{"negative delay", DNSChallenge{Provider: "exec", Propagation: &Propagation{DelayBeforeChecks: -1}}, "propagation.delayBeforeChecks: negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.d.check("certificatesResolvers.le.acme")
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("problems %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
}

func TestPropagationAliases(t *testing.T) {
	d := DNSChallenge{DelayBeforeCheck: config.Duration(3 * time.Second), DisablePropagationCheck: true}
	if p := d.propagation(); time.Duration(p.DelayBeforeChecks) != 3*time.Second || !p.DisableChecks {
		t.Errorf("Traefik's older names: %+v", p)
	}
	d.Propagation = &Propagation{DelayBeforeChecks: config.Duration(time.Second), DisableANSChecks: true}
	if p := d.propagation(); time.Duration(p.DelayBeforeChecks) != time.Second || !p.DisableANSChecks || !p.DisableChecks {
		t.Errorf("propagation wins over delayBeforeCheck: %+v", p)
	}
}

func TestResolverAddress(t *testing.T) {
	for in, want := range map[string]string{"1.1.1.1": "1.1.1.1:53", "1.1.1.1:5353": "1.1.1.1:5353", "[::1]": "[::1]:53",
		"[::1]:54": "[::1]:54", "ns.example.com": "ns.example.com:53"} {
		if got, err := resolverAddress(in); err != nil || got != want {
			t.Errorf("resolverAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "a b", "x/y"} {
		if _, err := resolverAddress(bad); err == nil {
			t.Errorf("resolverAddress(%q): no error", bad)
		}
	}
}

func TestNewDNSSolverCredentials(t *testing.T) {
	t.Setenv("CF_DNS_API_TOKEN", "")
	t.Setenv("CF_API_EMAIL", "")
	t.Setenv("CF_API_KEY", "")
	t.Setenv("CLOUDFLARE_DNS_API_TOKEN", "")
	_, err := newDNSSolver("le", &DNSChallenge{Provider: "cloudflare"}, zapNop())
	if err == nil || !strings.Contains(err.Error(), "resolver le") || !strings.Contains(err.Error(), "CLOUDFLARE_DNS_API_TOKEN") {
		t.Fatalf("error %v: want the resolver and the missing variables named", err)
	}
	if s, err := newDNSSolver("le", nil, zapNop()); s != nil || err != nil {
		t.Fatalf("no dnsChallenge: %v %v, want nil, nil", s, err)
	}
}

func TestRequestsWildcardsAndOnDemand(t *testing.T) {
	caps := map[string]Capability{"dns": {Known: true, DNS01: true}, "http": {Known: true}, "od": {Known: true, OnDemand: true}}
	rd := &ruleDomains{cur: map[string][]string{}}
	cfg := routerCfg(map[string]*config.Router{
		"wild": {Rule: "Host(`x.example.com`)", TLS: &config.RouterTLS{CertResolver: "dns",
			Domains: []config.Domain{{Main: "*.example.com", SANs: []string{"example.com"}}}}},
		"nodns":    {Rule: "Host(`x.other.com`)", TLS: &config.RouterTLS{CertResolver: "http", Domains: []config.Domain{{Main: "*.other.com"}}}},
		"saas":     {Rule: "HostRegexp(`^.+$`)", TLS: &config.RouterTLS{CertResolver: "od", OnDemand: true}},
		"noask":    {Rule: "PathPrefix(`/`)", TLS: &config.RouterTLS{CertResolver: "http", OnDemand: true}},
		"catchall": {Rule: "PathPrefix(`/`)", TLS: &config.RouterTLS{CertResolver: "http"}},
	})
	got := map[string]Request{}
	for _, r := range RequestsWith(cfg, func(n string) Capability { return caps[n] }, rd.get) {
		got[r.Router] = r
	}
	if r := got["wild"]; len(r.Errors) != 0 || strings.Join(r.Domains, ",") != "*.example.com,example.com" {
		t.Errorf("wild: %+v", r)
	}
	if r := got["nodns"]; len(r.Domains) != 0 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], `certificate resolver "http" has no dnsChallenge`) {
		t.Errorf("nodns: %+v", r)
	}
	if r := got["saas"]; len(r.Errors) != 0 || !r.OnDemand {
		t.Errorf("saas: %+v", r)
	}
	if r := got["noask"]; len(r.Errors) != 1 || !strings.Contains(r.Errors[0], `tls.onDemand: certificate resolver "http" has no onDemand.ask`) {
		t.Errorf("noask: %+v", r)
	}
	if r := got["catchall"]; len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "no Host(...)") {
		t.Errorf("catchall: %+v", r)
	}
}
