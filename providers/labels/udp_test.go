package labels

import (
	"reflect"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestBuildUDP(t *testing.T) {
	three := 3
	tests := []struct {
		name     string
		labels   map[string]string
		udp      config.UDP
		http     bool // an HTTP default service is still made
		problems []string
	}{
		{"router and port", map[string]string{
			"ferry.enable":                                    "true",
			"ferry.udp.routers.dns.entrypoints":               "dns",
			"ferry.udp.services.dns.loadbalancer.server.port": "53",
		}, config.UDP{
			Routers:  map[string]*config.UDPRouter{"dns": {EntryPoints: []string{"dns"}, Service: "dns"}},
			Services: map[string]*config.UDPService{"dns": {LoadBalancer: &config.UDPLoadBalancer{Servers: []config.UDPServer{{Address: "10.0.0.2:53"}}}}},
		}, false, nil},
		{"default service named after the workload", map[string]string{
			"ferry.enable":                                     "true",
			"ferry.udp.routers.r.entrypoints":                  "dns",
			"ferry.udp.services.ns.loadbalancer.server.port":   "5353",
			"ferry.udp.services.ns.loadbalancer.server.weight": "3",
		}, config.UDP{
			Routers:  map[string]*config.UDPRouter{"r": {EntryPoints: []string{"dns"}, Service: "ns"}},
			Services: map[string]*config.UDPService{"ns": {LoadBalancer: &config.UDPLoadBalancer{Servers: []config.UDPServer{{Address: "10.0.0.2:5353", Weight: &three}}}}},
		}, false, nil},
		{"no port", map[string]string{
			"ferry.enable":                      "true",
			"ferry.udp.routers.dns.entrypoints": "dns",
		}, config.UDP{
			Routers:  map[string]*config.UDPRouter{"dns": {EntryPoints: []string{"dns"}, Service: "app"}},
			Services: map[string]*config.UDPService{"app": {LoadBalancer: &config.UDPLoadBalancer{}}},
		}, false, []string{"udpService app: loadBalancer.server.port: no port: set label ferry.udp.services.app.loadbalancer.server.port (exposed ports are TCP ports) (container \"app\")"}},
		{"bad port and unknown key", map[string]string{
			"ferry.enable": "true",
			"ferry.udp.services.ns.loadbalancer.server.port": "x",
			"ferry.udp.services.ns.loadbalancer.server.url":  "udp://a",
		}, config.UDP{
			Services: map[string]*config.UDPService{"ns": {LoadBalancer: &config.UDPLoadBalancer{}}},
		}, false, []string{
			`udpService ns: loadbalancer.server.port: label ferry.udp.services.ns.loadbalancer.server.port="x": not a port number (container "app")`,
			`udpService ns: loadbalancer.server.url: label ferry.udp.services.ns.loadbalancer.server.url="udp://a": unknown key (want port, weight) (container "app")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ps := Build(workload("app", tt.labels, "80"), Options{Prefix: "ferry"})
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tt.problems) {
				t.Fatalf("problems:\n got %q\nwant %q", got, tt.problems)
			}
			if !reflect.DeepEqual(cfg.UDP, tt.udp) {
				t.Fatalf("udp = %+v, want %+v", cfg.UDP, tt.udp)
			}
			if http := len(cfg.HTTP.Services) > 0; http != tt.http {
				t.Fatalf("HTTP services %v, want HTTP defaults %v", cfg.HTTP.Services, tt.http)
			}
		})
	}
}

func TestMergeUDP(t *testing.T) {
	part := func(name, ip string) Part {
		w := Workload{Name: "ns", Host: ip, Origin: `container "` + name + `"`, Labels: map[string]string{
			"ferry.enable":                                   "true",
			"ferry.udp.routers.dns.entrypoints":              "dns",
			"ferry.udp.services.ns.loadbalancer.server.port": "53",
		}}
		cfg, ps := Build(w, Options{Prefix: "ferry"})
		return Part{Origin: w.Origin, Config: cfg, Problems: ps}
	}
	m := Merge([]Part{part("ns-2", "10.0.0.3"), part("ns-1", "10.0.0.2")})
	if len(m.Problems) != 0 {
		t.Fatalf("problems: %v", m.Problems)
	}
	want := []config.UDPServer{{Address: "10.0.0.2:53"}, {Address: "10.0.0.3:53"}}
	if got := m.Config.UDP.Services["ns"].LoadBalancer.Servers; !reflect.DeepEqual(got, want) {
		t.Fatalf("servers = %+v, want %+v", got, want)
	}
	if o := m.Origins[config.ObjectID{Kind: config.KindUDPRouter, Name: "dns"}]; o != `container "ns-1", container "ns-2"` {
		t.Fatalf("router origin = %q", o)
	}
}
