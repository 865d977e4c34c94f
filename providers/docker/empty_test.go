package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func ptr[T any](v T) *T { return &v }

// TestBuildTraefikDefaults covers the Docker defaults Traefik users know:
// allowEmptyServices, allowNonRunning, the lowest of several exposed ports,
// defaultRule "" and the label units of a TCP service.
func TestBuildTraefikDefaults(t *testing.T) {
	on := map[string]string{"ferry.enable": "true"}
	tests := []struct {
		name     string
		cs       []*container
		opts     Options
		routers  []string            // HTTP routers served
		servers  map[string][]string // service -> server URLs (an empty list: kept without servers)
		problems []string            // Problem.Error() of every problem
		check    func(t *testing.T, c *config.Config)
	}{
		{name: "unhealthy left out by default",
			cs:      []*container{with(ctr("app", "172.18.0.2", on), func(c *container) { c.Health = "unhealthy" })},
			routers: nil, servers: map[string][]string{}},
		{name: "allowEmptyServices keeps an unhealthy container without servers",
			cs:      []*container{with(ctr("app", "172.18.0.2", on), func(c *container) { c.Health = "starting" })},
			opts:    Options{AllowEmptyServices: true},
			routers: []string{"app"}, servers: map[string][]string{"app": {}}},
		{name: "allowEmptyServices: a healthy replica keeps serving",
			cs: []*container{
				with(ctr("web-1", "172.18.0.2", map[string]string{"ferry.enable": "true", composeService: "web", composeProject: "p"}),
					func(c *container) { c.Health = "unhealthy" }),
				ctr("web-2", "172.18.0.3", map[string]string{"ferry.enable": "true", composeService: "web", composeProject: "p"}),
			},
			opts:    Options{AllowEmptyServices: true},
			routers: []string{"web-p"}, servers: map[string][]string{"web-p": {"http://172.18.0.3:80"}}},
		{name: "allowEmptyServices does not keep stopped containers",
			cs:      []*container{with(ctr("app", "", on), func(c *container) { c.Running = false; c.Networks = map[string]string{} })},
			opts:    Options{AllowEmptyServices: true},
			routers: nil, servers: map[string][]string{}},
		{name: "allowNonRunning keeps a stopped container without servers",
			cs:      []*container{with(ctr("app", "", on), func(c *container) { c.Running = false; c.Networks = map[string]string{} })},
			opts:    Options{AllowNonRunning: true},
			routers: []string{"app"}, servers: map[string][]string{"app": {}}},
		{name: "constraints still apply",
			cs:   []*container{with(ctr("app", "", on), func(c *container) { c.Running = false })},
			opts: Options{AllowNonRunning: true, Constraints: "Label(`env`, `prod`)"}, routers: nil, servers: map[string][]string{}},
		{name: "several exposed ports: the lowest, with a warning",
			cs:      []*container{with(ctr("multi", "172.18.0.2", on), func(c *container) { c.Ports = []string{"443", "8080", "80"} })},
			routers: []string{"multi"}, servers: map[string][]string{"multi": {"http://172.18.0.2:80"}},
			problems: []string{`source container "multi": http.services.multi: the workload exposes 3 ports (443, 8080, 80) and has no port label: ` +
				`using the lowest, 80 (set label ferry.http.services.multi.loadbalancer.server.port to choose) (container "multi")`}},
		{name: "several exposed ports and a port label: no warning",
			cs: []*container{with(ctr("multi", "172.18.0.2", map[string]string{"ferry.enable": "true",
				"ferry.http.services.multi.loadbalancer.server.port": "8080"}), func(c *container) { c.Ports = []string{"80", "8080"} })},
			routers: []string{"multi"}, servers: map[string][]string{"multi": {"http://172.18.0.2:8080"}}},
		{name: `defaultRule "" makes no implicit router`,
			cs:   []*container{ctr("app", "172.18.0.2", on)},
			opts: Options{DefaultRule: ptr("")}, routers: nil, servers: map[string][]string{"app": {"http://172.18.0.2:80"}}},
		{name: `defaultRule "": a labelled router without rule is disabled, named`,
			cs: []*container{ctr("app", "172.18.0.2", map[string]string{"ferry.enable": "true", "ferry.http.routers.web.entrypoints": "web",
				"ferry.http.routers.api.rule": "Host(`api.example`)"})},
			opts: Options{DefaultRule: ptr("")}, routers: []string{"api", "web"}, servers: map[string][]string{"app": {"http://172.18.0.2:80"}},
			problems: []string{`router web: rule: no rule, and the default rule gives none for this workload; set label ferry.http.routers.web.rule (container "app")`}},
		{name: "a default rule that gives nothing for one container",
			cs: []*container{ctr("a", "172.18.0.2", map[string]string{"ferry.enable": "true", "host": "a.example"}),
				ctr("b", "172.18.0.3", on)},
			opts:    Options{DefaultRule: ptr(`{{ with index .Labels "host" }}Host(` + "`{{ . }}`" + `){{ end }}`)},
			routers: []string{"a"}, servers: map[string][]string{"a": {"http://172.18.0.2:80"}, "b": {"http://172.18.0.3:80"}}},
		{name: "TCP terminationDelay label in milliseconds, proxyProtocol without version",
			cs: []*container{ctr("db", "172.18.0.2", map[string]string{"ferry.enable": "true",
				"ferry.tcp.routers.db.rule":                            "HostSNI(`*`)",
				"ferry.tcp.services.db.loadbalancer.terminationdelay":  "100",
				"ferry.tcp.services.db.loadbalancer.proxyprotocol":     "true",
				"ferry.tcp.middlewares.office.ipallowlist.sourcerange": "10.0.0.0/8, 192.0.2.1",
				"ferry.tcp.routers.db.middlewares":                     "office",
			})},
			servers: map[string][]string{},
			check: func(t *testing.T, c *config.Config) {
				lb := c.TCP.Services["db"].LoadBalancer
				if lb.TerminationDelay.String() != "100ms" || lb.ProxyProtocolVersion() != 2 {
					t.Fatalf("terminationDelay %s, proxy protocol v%d; want 100ms and v2", lb.TerminationDelay, lb.ProxyProtocolVersion())
				}
				m := c.TCP.Middlewares["office"]
				if m == nil || m.IPAllowList == nil || !slices.Equal(m.IPAllowList.SourceRange, []string{"10.0.0.0/8", "192.0.2.1"}) ||
					!slices.Equal(c.TCP.Routers["db"].Middlewares, []string{"office"}) {
					t.Fatalf("TCP middlewares %+v, router %+v", m, c.TCP.Routers["db"])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bo, err := tt.opts.buildOptions()
			if err != nil {
				t.Fatal(err)
			}
			res := build(tt.cs, &bo)
			c := res.merged.Config
			routers := slices.Sorted(func(yield func(string) bool) {
				for r := range c.HTTP.Routers {
					yield(r)
				}
			})
			if !slices.Equal(routers, tt.routers) && !(len(routers) == 0 && len(tt.routers) == 0) {
				t.Errorf("routers %v, want %v", routers, tt.routers)
			}
			got := map[string][]string{}
			for name, s := range c.HTTP.Services {
				urls := []string{}
				for _, srv := range s.LoadBalancer.Servers {
					urls = append(urls, srv.URL)
				}
				got[name] = urls
			}
			if len(got) != len(tt.servers) {
				t.Errorf("services %v, want %v", got, tt.servers)
			}
			for name, want := range tt.servers {
				if g, ok := got[name]; !ok || !slices.Equal(g, want) {
					t.Errorf("service %s: servers %v, want %v", name, g, want)
				}
			}
			var problems []string
			for _, p := range res.merged.Problems {
				problems = append(problems, p.Error())
			}
			if strings.Join(problems, "\n") != strings.Join(tt.problems, "\n") {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(tt.problems, "\n"))
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
