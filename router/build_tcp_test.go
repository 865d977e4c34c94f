package router

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

func tcpLB(addrs ...string) *config.TCPService {
	lb := &config.TCPLoadBalancer{}
	for _, a := range addrs {
		lb.Servers = append(lb.Servers, config.TCPServer{Address: a})
	}
	return &config.TCPService{LoadBalancer: lb}
}

func tcpConfig() *config.Config {
	return &config.Config{
		HTTP: config.HTTP{
			Routers:  map[string]*config.Router{"api": {Rule: "Host(`api.test`)", Service: "app", EntryPoints: []string{"websecure"}}},
			Services: map[string]*config.Service{"app": lbService("http://127.0.0.1:1")},
		},
		TCP: config.TCP{
			Routers: map[string]*config.TCPRouter{
				"db":       {Rule: "HostSNI(`db.test`)", Service: "pg", TLS: &config.TCPRouterTLS{Passthrough: true}, EntryPoints: []string{"websecure"}},
				"db-admin": {Rule: "HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)", Service: "pg", Priority: 100, TLS: &config.TCPRouterTLS{}, EntryPoints: []string{"websecure"}},
				"any-tls":  {Rule: "HostSNIRegexp(`\\.test$`)", Service: "pg", Priority: 1, TLS: &config.TCPRouterTLS{}, EntryPoints: []string{"websecure"}},
				"raw":      {Rule: "HostSNI(`*`)", Service: "mix", EntryPoints: []string{"web"}},
				"bad-rule": {Rule: "HostSNI(`a`) &&", Service: "pg", TLS: &config.TCPRouterTLS{}},
				"sni-only": {Rule: "HostSNI(`x.test`)", Service: "pg"},
				"no-ep":    {Rule: "HostSNI(`*`)", Service: "pg", EntryPoints: []string{"nowhere"}},
				"broken":   {Rule: "HostSNI(`*`)", Service: "broken-svc", EntryPoints: []string{"web"}},
			},
			Services: map[string]*config.TCPService{
				"pg":         tcpLB("127.0.0.1:5432"),
				"other":      tcpLB("127.0.0.1:5433"),
				"broken-svc": tcpLB("nope"),
				"mix": {Weighted: &config.TCPWeighted{Services: []config.TCPWeightedService{
					{Name: "pg"}, {Name: "other"}}}},
			},
		},
	}
}

func TestBuildTCP(t *testing.T) {
	tbl := Build(Input{Config: tcpConfig()}, testOptions(nil))
	var got []string
	for _, p := range tbl.Problems() {
		if p.Kind == config.KindTCPRouter || p.Kind == config.KindTCPService {
			got = append(got, p.Error())
		}
	}
	want := []string{
		"tcpRouter bad-rule: rule: rule: at position 15: unexpected end of rule, expected a matcher, '!' or '('",
		"tcpRouter broken: service: TCP service \"broken-svc\" is disabled",
		"tcpRouter no-ep: entryPoints[0]: entry point \"nowhere\" does not exist",
		"tcpRouter sni-only: rule: a router without tls sees no server name: use HostSNI(`*`), or add tls",
		"tcpService broken-svc: loadBalancer.servers[0].address: invalid address \"nope\": want host:port",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%q\nwant\n%q", got, want)
	}

	web, secure := tbl.tcpRoutes(0), tbl.tcpRoutes(1)
	match := func(name string, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: routed to %q, want %q", name, got, want)
		}
	}
	req := func(sni, ip string) *rule.TCPRequest {
		r := &rule.TCPRequest{SNI: sni}
		if ip != "" {
			r.ClientIP = netip.MustParseAddr(ip)
		}
		return r
	}
	for _, tc := range []struct {
		label, sni, ip, want string
	}{
		{"exact SNI", "db.test", "192.0.2.1", "db@"},
		{"higher priority with ClientIP", "db.test", "10.1.1.1", "db-admin@"},
		{"regexp catch", "other.test", "192.0.2.1", "any-tls@"},
		{"no route", "example.com", "192.0.2.1", ""},
	} {
		r := secure.MatchTLS(req(tc.sni, tc.ip))
		got := ""
		if r != nil {
			got = r.Name + "@"
		}
		match(tc.label, got, tc.want)
	}
	if r := web.MatchPlain(req("", "192.0.2.1")); r == nil || r.Name != "raw" {
		t.Errorf("plain connection on web: %+v, want raw", r)
	}
	if web.HTTP || !secure.HTTP {
		t.Errorf("HTTP flags web %v websecure %v, want false true", web.HTTP, secure.HTTP)
	}
	if !web.Direct() || secure.Direct() {
		t.Errorf("Direct web %v websecure %v, want true false", web.Direct(), secure.Direct())
	}

	// An unchanged load balancer keeps its identity (and state) across builds.
	cfg2 := tcpConfig()
	cfg2.TCP.Services["other"] = tcpLB("127.0.0.1:6000")
	tbl2 := Build(Input{Config: cfg2}, testOptions(tbl))
	if tbl2.tcp.lbs["pg"] != tbl.tcp.lbs["pg"] {
		t.Error("unchanged TCP service pg was rebuilt")
	}
	if tbl2.tcp.lbs["other"] == tbl.tcp.lbs["other"] {
		t.Error("changed TCP service other was reused")
	}
	infos := tbl2.TCPRouters()
	if len(infos) != 8 || infos[0].Name != "any-tls" || infos[0].Status != StatusEnabled {
		t.Errorf("TCPRouters() = %+v", infos)
	}
}
