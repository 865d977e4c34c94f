package labels

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got, as indented JSON, with testdata/<name>.golden.
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

func workload(name string, labels map[string]string, ports ...string) Workload {
	return Workload{Name: name, ContainerName: name, Labels: labels, Host: "10.0.0.2", Ports: ports, Origin: `container "` + name + `"`}
}

func TestBuild(t *testing.T) {
	custom, err := ParseDefaultRule("Host(`{{ .Name }}.{{ index .Labels \"domain\" }}`)")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		w    Workload
		opts Options
	}{
		{"enable_single_port", workload("whoami", map[string]string{"ferry.enable": "true"}, "80"), Options{}},
		{"not_enabled", workload("whoami", map[string]string{"other": "x"}, "80"), Options{}},
		{"exposed_by_default", workload("web_1.app", map[string]string{}, "8080"), Options{ExposedByDefault: true}},
		{"disabled_despite_default", workload("whoami", map[string]string{"ferry.enable": "false"}, "80"), Options{ExposedByDefault: true}},
		{"bad_enable", workload("whoami", map[string]string{"ferry.enable": "yes please"}, "80"), Options{}},
		{"explicit_router_and_port", workload("app", map[string]string{
			"ferry.enable":                                     "true",
			"ferry.http.routers.web.rule":                      "Host(`example.com`) && PathPrefix(`/api`)",
			"ferry.http.routers.web.entrypoints":               "web,websecure",
			"ferry.http.routers.web.priority":                  "10",
			"ferry.http.services.api.loadbalancer.server.port": "9000",
		}, "80", "9000"), Options{}},
		{"router_without_rule_or_service", workload("app", map[string]string{
			"ferry.enable":                                      "true",
			"ferry.http.routers.web.entryPoints":                "web",
			"ferry.http.routers.web.middlewares":                "strip",
			"ferry.http.middlewares.strip.stripprefix.prefixes": "/api,/v1",
		}, "80"), Options{}},
		{"two_services_router_needs_one", workload("app", map[string]string{
			"ferry.enable": "true",
			"ferry.http.services.a.loadbalancer.server.port": "8080",
			"ferry.http.services.b.loadbalancer.server.port": "9090",
		}, "8080", "9090"), Options{}},
		{"unknown_key", workload("app", map[string]string{
			"ferry.enable":                 "true",
			"ferry.http.routers.web.rulee": "Host(`x`)",
			"ferry.http.routers.ok.rule":   "Host(`ok`)",
			"ferry.htp.routers.web.rule":   "Host(`x`)",
		}, "80"), Options{}},
		{"bad_rule", workload("app", map[string]string{
			"ferry.enable":                 "true",
			"ferry.http.routers.bad.rule":  "Host(`x`",
			"ferry.http.routers.good.rule": "Host(`good`)",
		}, "80"), Options{}},
		{"no_port", workload("app", map[string]string{"ferry.enable": "true"}), Options{}},
		{"many_ports", workload("app", map[string]string{"ferry.enable": "true"}, "80", "443"), Options{}},
		{"bad_port", workload("app", map[string]string{
			"ferry.enable": "true",
			"ferry.http.services.app.loadbalancer.server.port": "http",
		}, "80"), Options{}},
		{"scheme_weight_and_options", workload("grpc", map[string]string{
			"ferry.enable": "true",
			"ferry.http.services.grpc.loadbalancer.server.scheme":  "h2c",
			"ferry.http.services.grpc.loadbalancer.server.weight":  "3",
			"ferry.http.services.grpc.loadbalancer.passhostheader": "false",
		}, "50051"), Options{}},
		{"server_url", workload("ext", map[string]string{
			"ferry.enable": "true",
			"ferry.http.services.ext.loadbalancer.server.url": "https://backend.internal:8443",
		}), Options{}},
		{"bad_scheme_and_shortcut_key", workload("app", map[string]string{
			"ferry.enable": "true",
			"ferry.http.services.app.loadbalancer.server.scheme": "ftp",
			"ferry.http.services.s2.loadbalancer.server.porrt":   "80",
		}, "80"), Options{}},
		{"traefik_prefix", workload("whoami", map[string]string{
			"traefik.enable":                                        "true",
			"traefik.http.routers.whoami.rule":                      "Host(`whoami.localhost`)",
			"traefik.http.services.whoami.loadbalancer.server.port": "80",
			"ferry.http.routers.ignored.rule":                       "Host(`ignored`)",
		}), Options{Prefix: "traefik"}},
		{"published_ports", Workload{Name: "app", Labels: map[string]string{"ferry.enable": "true"}, Host: "172.17.0.2",
			Ports: []string{"80"}, Published: map[string]string{"80": "127.0.0.1:32768"}, Origin: `container "app"`}, Options{}},
		{"not_published", Workload{Name: "app", Labels: map[string]string{"ferry.enable": "true"}, Host: "172.17.0.2",
			Ports: []string{"80"}, Published: map[string]string{}, Origin: `container "app"`}, Options{}},
		{"custom_default_rule", workload("shop", map[string]string{"ferry.enable": "true", "domain": "example.org"}, "80"),
			Options{DefaultRule: custom}},
		{"provider_keys_stripped", workload("app", map[string]string{
			"ferry.enable":         "true",
			"ferry.docker.network": "front",
		}, "80"), Options{ProviderKeys: []string{"docker"}}},
		{"conflicting_keys", workload("app", map[string]string{
			"ferry.enable":                "true",
			"ferry.http.routers.web":      "x",
			"ferry.http.routers.web.rule": "Host(`a`)",
		}, "80"), Options{}},
		{"tls_true_and_resolver", workload("app", map[string]string{
			"ferry.enable":                            "true",
			"ferry.http.routers.web.rule":             "Host(`a.example`)",
			"ferry.http.routers.web.tls":              "true",
			"ferry.http.routers.web.tls.certresolver": "le",
		}, "80"), Options{}},
		{"indexed_list", workload("app", map[string]string{
			"ferry.enable": "true",
			"ferry.http.routers.web.tls.domains[0].main": "example.com",
			"ferry.http.routers.web.tls.domains[0].sans": "a.example.com,b.example.com",
			"ferry.http.routers.web.tls.domains[0].nope": "x",
		}, "80"), Options{}},
		{"tcp_only", workload("db", map[string]string{
			"ferry.enable":                                             "true",
			"ferry.tcp.routers.db.rule":                                "HostSNI(`*`)",
			"ferry.tcp.routers.db.entrypoints":                         "pg",
			"ferry.tcp.services.db.loadbalancer.server.port":           "5432",
			"ferry.tcp.services.db.loadbalancer.proxyprotocol.version": "2",
		}, "5432"), Options{}},
		{"tcp_router_only_single_port", workload("redis", map[string]string{
			"ferry.enable":                            "true",
			"ferry.tcp.routers.redis.rule":            "HostSNI(`redis.example`)",
			"ferry.tcp.routers.redis.tls.passthrough": "true",
		}, "6379"), Options{}},
		{"tcp_and_http", workload("both", map[string]string{
			"ferry.enable":                                    "true",
			"ferry.tcp.routers.t.rule":                        "HostSNI(`*`",
			"ferry.tcp.services.t.loadbalancer.server.port":   "9000",
			"ferry.tcp.services.u.loadbalancer.server.weight": "x",
			"ferry.tcp.services.u.loadbalancer.server.scheme": "http",
			"ferry.http.routers.h.rule":                       "Host(`both.example`)",
			"ferry.http.services.h.loadbalancer.server.port":  "8080",
		}, "8080", "9000"), Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Prefix == "" {
				tt.opts.Prefix = "ferry"
			}
			if tt.opts.DefaultRule == nil {
				tt.opts.DefaultRule, _ = ParseDefaultRule("")
			}
			tt.opts.ProviderKeys = append(tt.opts.ProviderKeys, "docker")
			cfg, problems := Build(tt.w, tt.opts)
			golden(t, "build_"+tt.name, struct {
				Config   *config.Config   `json:"config"`
				Problems []config.Problem `json:"problems"`
			}{cfg, problems})
			for _, p := range problems {
				if p.Origin != tt.w.Origin {
					t.Errorf("problem %v: origin %q, want %q", p, p.Origin, tt.w.Origin)
				}
			}
		})
	}
}

// TestProblemsNameTheLabel checks what a user reads: the label and its value.
func TestProblemsNameTheLabel(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"ferry.enable": "true", "ferry.http.routers.web.rulee": "Host(`x`)"}, `label ferry.http.routers.web.rulee="Host(` + "`x`" + `)": unknown key`},
		{map[string]string{"ferry.enable": "true", "ferry.http.routers.web.rule": "Host(`x`"}, `label ferry.http.routers.web.rule="Host(` + "`x`" + `"`},
		{map[string]string{"ferry.enable": "true", "ferry.http.services.s.loadbalancer.server.port": "x"}, `label ferry.http.services.s.loadbalancer.server.port="x": not a port number`},
		// A credential's value is never quoted.
		{map[string]string{"ferry.enable": "true", "ferry.http.middlewares.h.headers.customrequestheaderz.Authorization": "Bearer tok"},
			`label ferry.http.middlewares.h.headers.customrequestheaderz.Authorization="<redacted>": unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, ps := Build(workload("app", tt.labels, "80"), Options{Prefix: "ferry"})
			var all []string
			for _, p := range ps {
				all = append(all, p.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("problems %q do not contain %q", all, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"web":        "web",
		"web_1.app":  "web-1-app",
		"/my--app/":  "my-app",
		"café-crème": "café-crème",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDefaultRuleError(t *testing.T) {
	if _, err := ParseDefaultRule("Host(`{{ .Name `)"); err == nil || !strings.HasPrefix(err.Error(), "labels: defaultRule: ") {
		t.Errorf("got %v", err)
	}
}
