package router

import (
	"reflect"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func udpLB(addrs ...string) *config.UDPService {
	lb := &config.UDPLoadBalancer{}
	for _, a := range addrs {
		lb.Servers = append(lb.Servers, config.UDPServer{Address: a})
	}
	return &config.UDPService{LoadBalancer: lb}
}

func udpOptions(prev *Table) BuildOptions {
	o := testOptions(prev)
	o.UDPEntryPoints = []string{"dns", "syslog", "spare"}
	return o
}

func udpConfig() *config.Config {
	return &config.Config{UDP: config.UDP{
		Routers: map[string]*config.UDPRouter{
			"a-dns":    {Service: "ns", EntryPoints: []string{"dns"}},
			"b-dns":    {Service: "ns", EntryPoints: []string{"dns", "spare"}},
			"logs":     {Service: "log", EntryPoints: []string{"syslog"}},
			"on-tcp":   {Service: "ns", EntryPoints: []string{"web"}},
			"broken":   {Service: "bad", EntryPoints: []string{"spare"}},
			"no-route": {Service: "ghost", EntryPoints: []string{"spare"}},
		},
		Services: map[string]*config.UDPService{
			"ns":  udpLB("127.0.0.1:53", "127.0.0.1:54"),
			"log": udpLB("127.0.0.1:514"),
			"bad": udpLB("nope"),
		},
	}}
}

func TestBuildUDP(t *testing.T) {
	tbl := Build(Input{Config: udpConfig()}, udpOptions(nil))
	var got []string
	for _, p := range tbl.Problems() {
		got = append(got, p.Error())
	}
	want := []string{
		`udpRouter b-dns: entryPoints: UDP entry point "dns" is already served by router "a-dns"`,
		`udpRouter broken: service: UDP service "bad" is disabled`,
		`udpRouter no-route: service: UDP service "ghost" does not exist`,
		`udpRouter on-tcp: entryPoints[0]: UDP entry point "web" does not exist`,
		`udpService bad: loadBalancer.servers[0].address: invalid address "nope": want host:port`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n got %q\nwant %q", got, want)
	}
	for i, want := range []string{"a-dns", "logs", ""} {
		rt := tbl.udpRoute(i)
		name := ""
		if rt != nil {
			name = rt.Name
			if rt.Service == nil {
				t.Fatalf("entry point %d: route %s without service", i, name)
			}
		}
		if name != want {
			t.Errorf("entry point %d: router %q, want %q", i, name, want)
		}
	}
	status := map[string]string{}
	for _, r := range tbl.UDPRouters() {
		status[r.Name] = r.Status
	}
	if status["a-dns"] != StatusEnabled || status["logs"] != StatusEnabled || status["b-dns"] != StatusDisabled {
		t.Fatalf("router status = %v", status)
	}
	svc := map[string]UDPServiceInfo{}
	for _, s := range tbl.UDPServices() {
		svc[s.Name] = s
	}
	if svc["bad"].Status != StatusDisabled || svc["ns"].Status != StatusEnabled ||
		!reflect.DeepEqual(svc["ns"].UsedBy, []string{"a-dns", "b-dns", "on-tcp"}) {
		t.Fatalf("services = %+v", svc)
	}
	if tbl.tcpRoutes(0) != nil {
		t.Fatal("a UDP router reached a TCP entry point")
	}
}

func TestBuildUDPReusesServices(t *testing.T) {
	first := Build(Input{Config: udpConfig()}, udpOptions(nil))
	cfg := udpConfig()
	cfg.UDP.Services["log"] = udpLB("127.0.0.1:515")
	delete(cfg.UDP.Routers, "a-dns")
	cfg.UDP.Routers["c-dns"] = &config.UDPRouter{Service: "ns", EntryPoints: []string{"dns"}}
	second := Build(Input{Config: cfg}, udpOptions(first))
	if first.udpRoute(0).Service != second.udpRoute(0).Service {
		t.Error("unchanged service ns was rebuilt: its sessions would end")
	}
	if second.udpRoute(0).Name != "b-dns" {
		t.Errorf("dns served by %q, want b-dns (first by name)", second.udpRoute(0).Name)
	}
	if first.udpRoute(1).Service == second.udpRoute(1).Service {
		t.Error("changed service log was carried over")
	}
	third := Build(Input{Config: &config.Config{}}, udpOptions(second))
	for i := range 3 {
		if third.udpRoute(i) != nil {
			t.Errorf("entry point %d still routed after its router was removed", i)
		}
	}
}

func TestBuildUDPAllEntryPoints(t *testing.T) {
	cfg := &config.Config{UDP: config.UDP{
		Routers:  map[string]*config.UDPRouter{"all": {Service: "ns"}},
		Services: map[string]*config.UDPService{"ns": udpLB("127.0.0.1:53")},
	}}
	tbl := Build(Input{Config: cfg}, udpOptions(nil))
	if len(tbl.Problems()) != 0 {
		t.Fatalf("problems: %v", tbl.Problems())
	}
	if r := tbl.UDPRouters()[0]; !reflect.DeepEqual(r.Using, []string{"dns", "syslog", "spare"}) {
		t.Fatalf("using = %v", r.Using)
	}
	none := Build(Input{Config: cfg}, testOptions(nil))
	if p := none.Problems(); len(p) != 1 || p[0].Kind != config.KindUDPRouter {
		t.Fatalf("without UDP entry points: problems %v", p)
	}
}
