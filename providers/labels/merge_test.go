package labels

import (
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestMerge(t *testing.T) {
	replica := func(name, ip string, extra map[string]string) Part {
		l := map[string]string{
			"ferry.enable":                                     "true",
			"ferry.http.routers.web.rule":                      "Host(`web.example`)",
			"ferry.http.services.web.loadbalancer.server.port": "8080",
		}
		for k, v := range extra {
			l[k] = v
		}
		w := Workload{Name: name, Labels: l, Host: ip, Origin: `container "` + name + `"`}
		cfg, ps := Build(w, Options{Prefix: "ferry"})
		return Part{Origin: w.Origin, Config: cfg, Problems: ps}
	}
	tests := []struct {
		name  string
		parts []Part
	}{
		{"replicas_share_a_service", []Part{
			replica("web-2", "10.0.0.3", nil),
			replica("web-1", "10.0.0.2", nil),
			replica("web-3", "10.0.0.4", nil),
		}},
		{"conflicting_router", []Part{
			replica("web-1", "10.0.0.2", nil),
			replica("web-2", "10.0.0.3", map[string]string{"ferry.http.routers.web.rule": "Host(`other.example`)"}),
			replica("web-3", "10.0.0.4", nil),
		}},
		{"conflicting_service", []Part{
			replica("web-1", "10.0.0.2", nil),
			replica("web-2", "10.0.0.3", map[string]string{"ferry.http.services.web.loadbalancer.passhostheader": "false"}),
		}},
		{"disabled_and_problem_parts", []Part{
			replica("web-1", "10.0.0.2", nil),
			{Origin: `container "off"`},
			replica("bad", "10.0.0.9", map[string]string{"ferry.http.routers.other.rulee": "x"}),
		}},
		{"tcp_replicas", []Part{tcpReplica("db-1", "10.0.0.2"), tcpReplica("db-2", "10.0.0.3")}},
		{"many_origins", []Part{
			replica("a", "10.0.0.1", nil), replica("b", "10.0.0.2", nil), replica("c", "10.0.0.3", nil),
			replica("d", "10.0.0.4", nil), replica("e", "10.0.0.5", nil),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Merge(tt.parts)
			origins := map[string]string{}
			for id, o := range m.Origins {
				origins[string(id.Kind)+" "+id.Name] = o
			}
			golden(t, "merge_"+tt.name, struct {
				Config   *config.Config    `json:"config"`
				Problems []config.Problem  `json:"problems"`
				Origins  map[string]string `json:"origins"`
			}{m.Config, m.Problems, origins})
		})
	}
}

func tcpReplica(name, ip string) Part {
	w := Workload{Name: name, Host: ip, Origin: `container "` + name + `"`, Labels: map[string]string{
		"ferry.enable":                                   "true",
		"ferry.tcp.routers.db.rule":                      "HostSNI(`*`)",
		"ferry.tcp.services.db.loadbalancer.server.port": "5432",
	}}
	cfg, ps := Build(w, Options{Prefix: "ferry"})
	return Part{Origin: w.Origin, Config: cfg, Problems: ps}
}
