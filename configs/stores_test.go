package configs

import (
	"strings"
	"testing"
)

// TestStaticStores checks that the Consul and etcd provider sections decode
// under Traefik's names and that a bad catalog option is reported.
func TestStaticStores(t *testing.T) {
	const base = `
entryPoints:
  web:
    address: ":80"
providers:
  consulCatalog:
    endpoint:
      address: 10.0.0.1:8500
      token: secret
    prefix: traefik
    exposedByDefault: true
    strictChecks: [passing]
    constraints: %s
  consul:
    endpoints: ["10.0.0.1:8500", "10.0.0.2:8500"]
    rootKey: cfg
  etcd:
    endpoints: ["10.0.0.3:2379"]
    username: ferry
    tls:
      insecureSkipVerify: true
`
	tests := []struct {
		name       string
		constraint string
		problem    string
	}{
		{"valid", "Tag(`public`)", ""},
		{"bad constraint", "Tag(`public`", "providers.consulCatalog: consul catalog: constraints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := Parse([]byte(strings.Replace(base, "%s", tt.constraint, 1)), "ferry.yaml", "")
			if tt.problem == "" {
				if len(problems) > 0 {
					t.Fatalf("problems: %v", problems)
				}
				p := s.Providers
				if p.ConsulCatalog == nil || p.ConsulCatalog.Endpoint.Address != "10.0.0.1:8500" || p.ConsulCatalog.Prefix != "traefik" ||
					!p.ConsulCatalog.ExposedByDefault || len(p.ConsulCatalog.StrictChecks) != 1 {
					t.Errorf("consulCatalog = %+v", p.ConsulCatalog)
				}
				if p.Consul == nil || len(p.Consul.Endpoints) != 2 || p.Consul.RootKey != "cfg" {
					t.Errorf("consul = %+v", p.Consul)
				}
				if p.Etcd == nil || p.Etcd.Username != "ferry" || p.Etcd.TLS == nil || !p.Etcd.TLS.InsecureSkipVerify {
					t.Errorf("etcd = %+v", p.Etcd)
				}
				return
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tt.problem) {
				t.Errorf("problems %v, want one containing %q", problems, tt.problem)
			}
		})
	}
}
