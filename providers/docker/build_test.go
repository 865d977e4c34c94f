package docker

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, data, want)
	}
}

// ctr is a running container on the network "front" exposing port 80.
func ctr(name, ip string, labels map[string]string) *container {
	return &container{ID: "id-" + name, Name: name, Labels: labels, Running: true,
		Networks: map[string]string{"front": ip}, Ports: []string{"80"}}
}

func with(c *container, f func(*container)) *container { f(c); return c }

func TestBuild(t *testing.T) {
	on := map[string]string{"ferry.enable": "true"}
	web := map[string]string{
		"ferry.enable":                                     "true",
		"ferry.http.routers.web.rule":                      "Host(`web.example`)",
		"ferry.http.services.web.loadbalancer.server.port": "8080",
	}
	tests := []struct {
		name string
		cs   []*container
		opts Options
	}{
		{"single", []*container{ctr("whoami", "172.18.0.2", on)}, Options{}},
		{"not_enabled_and_stopped", []*container{
			ctr("plain", "172.18.0.2", map[string]string{}),
			with(ctr("stopped", "172.18.0.3", on), func(c *container) { c.Running = false }),
			with(ctr("draining", "172.18.0.4", on), func(c *container) { c.Draining = true }),
		}, Options{}},
		{"health", []*container{
			with(ctr("starting", "172.18.0.2", on), func(c *container) { c.Health = "starting" }),
			with(ctr("unhealthy", "172.18.0.3", on), func(c *container) { c.Health = "unhealthy" }),
			with(ctr("healthy", "172.18.0.4", on), func(c *container) { c.Health = "healthy" }),
		}, Options{}},
		{"replicas", []*container{ctr("web-1", "172.18.0.2", web), ctr("web-2", "172.18.0.3", web),
			with(ctr("web-3", "172.18.0.4", web), func(c *container) { c.Draining = true })}, Options{}},
		{"compose_name", []*container{ctr("proj-api-1", "172.18.0.2", map[string]string{
			"ferry.enable": "true", composeService: "api", composeProject: "shop"})}, Options{}},
		{"host_network", []*container{with(ctr("hostnet", "", on), func(c *container) {
			c.HostNetwork, c.Networks = true, map[string]string{"host": ""}
		})}, Options{}},
		{"network_label_chooses", []*container{with(ctr("two", "172.18.0.2", map[string]string{
			"ferry.enable": "true", "ferry.docker.network": "back"}), func(c *container) {
			c.Networks["back"] = "172.19.0.2"
		})}, Options{}},
		{"network_label_missing", []*container{
			ctr("gone", "172.18.0.2", map[string]string{"ferry.enable": "true", "ferry.docker.network": "back"}),
			ctr("other", "172.18.0.3", on),
		}, Options{}},
		{"static_network_and_guess", []*container{
			with(ctr("static", "172.18.0.2", on), func(c *container) { c.Networks["back"] = "172.19.0.2" }),
		}, Options{Network: "back"}},
		{"first_network_guess", []*container{
			with(ctr("guess", "172.18.0.2", on), func(c *container) { c.Networks["back"] = "172.19.0.2" }),
		}, Options{}},
		{"exposed_by_default_and_constraints", []*container{
			ctr("prod", "172.18.0.2", map[string]string{"env": "prod"}),
			ctr("dev", "172.18.0.3", map[string]string{"env": "dev"}),
		}, Options{ExposedByDefault: true, Constraints: "Label(`env`, `prod`)"}},
		{"traefik_prefix_and_default_rule", []*container{ctr("whoami", "172.18.0.2", map[string]string{
			"traefik.enable": "true", "traefik.http.routers.w.entrypoints": "web"})},
			Options{LabelPrefix: "traefik", DefaultRule: ptr("Host(`{{ normalize .Name }}.docker.localhost`)")}},
		{"bind_port_ip", []*container{with(ctr("pub", "172.18.0.2", on), func(c *container) {
			c.Published = map[string]string{"80": "127.0.0.1:32768"}
		})}, Options{UseBindPortIP: true}},
		{"bad_label_keeps_neighbours", []*container{
			ctr("bad", "172.18.0.2", map[string]string{"ferry.enable": "true", "ferry.http.routers.bad.rulee": "x"}),
			ctr("good", "172.18.0.3", on),
		}, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bo, err := tt.opts.buildOptions()
			if err != nil {
				t.Fatal(err)
			}
			res := build(tt.cs, &bo)
			origins := map[string]string{}
			for id, o := range res.merged.Origins {
				origins[string(id.Kind)+" "+id.Name] = o
			}
			golden(t, "build_"+tt.name, struct {
				Config   *config.Config    `json:"config"`
				Problems []config.Problem  `json:"problems"`
				Origins  map[string]string `json:"origins"`
				Notes    map[string]string `json:"notes"`
			}{res.merged.Config, res.merged.Problems, origins, res.notes})
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, ""},
		{Options{Endpoint: "tcp://127.0.0.1:2376"}, ""},
		{Options{Endpoint: "http://x"}, `docker: endpoint "http://x": want unix:// or tcp://`},
		{Options{Constraints: "Label(`a`)"}, "docker: constraints: constraint: at position 0: Label: want 2 arguments (key, value), got 1"},
		{Options{DefaultRule: ptr("{{ .Name ")}, "docker: labels: defaultRule: "},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			err := tt.opts.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || len(err.Error()) < len(tt.want) || err.Error()[:len(tt.want)] != tt.want):
				t.Errorf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestFromInspect(t *testing.T) {
	j := dcontainer.InspectResponse{
		ContainerJSONBase: &dcontainer.ContainerJSONBase{
			ID: "abc", Name: "/web-1",
			State:      &dcontainer.State{Running: true, Health: &dcontainer.Health{Status: "healthy"}},
			HostConfig: &dcontainer.HostConfig{NetworkMode: "bridge"},
		},
		Config: &dcontainer.Config{Labels: map[string]string{"a": "b"},
			ExposedPorts: nat.PortSet{"8080/tcp": {}, "53/udp": {}, "443/tcp": {}}},
		NetworkSettings: &dcontainer.NetworkSettings{
			Networks: map[string]*network.EndpointSettings{"front": {IPAddress: "172.18.0.2"}},
		},
	}
	j.NetworkSettings.Ports = nat.PortMap{
		"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "32768"}},
		"443/tcp":  nil,
	}
	c := fromInspect(j)
	got, _ := json.Marshal(c)
	want := `{"ID":"abc","Name":"web-1","Labels":{"a":"b"},"Running":true,"Health":"healthy","Draining":false,"HostNetwork":false,` +
		`"Networks":{"front":"172.18.0.2"},"Ports":["443","8080"],"Published":{"8080":"127.0.0.1:32768"}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	paused := j
	base := *j.ContainerJSONBase
	base.State = &dcontainer.State{Running: true, Paused: true}
	paused.ContainerJSONBase = &base
	if fromInspect(paused).Running {
		t.Error("a paused container counts as running")
	}
}
