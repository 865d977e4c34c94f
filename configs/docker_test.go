package configs

import (
	"strings"
	"testing"
)

// TestStaticDocker checks that providers.docker decodes under Traefik's
// names and that bad options are reported with their path.
func TestStaticDocker(t *testing.T) {
	const base = `
entryPoints:
  web:
    address: ":80"
providers:
  docker:
    endpoint: %s
    exposedByDefault: true
    labelPrefix: traefik
    network: front
    watch: false
    useBindPortIP: true
    defaultRule: Host(` + "`{{ normalize .Name }}.example`" + `)
    constraints: %s
    tls:
      ca: /etc/docker/ca.pem
`
	tests := []struct {
		name, endpoint, constraint, problem string
	}{
		{"valid", "tcp://10.0.0.1:2376", "Label(`env`, `prod`)", ""},
		{"bad constraint", "unix:///var/run/docker.sock", "Label(`env`)", "ferry.yaml: providers.docker: docker: constraints: "},
		{"bad endpoint", "http://10.0.0.1", "", `providers.docker: docker: endpoint "http://10.0.0.1": want unix:// or tcp://`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(strings.Replace(base, "%s", tt.endpoint, 1), "%s", "'"+tt.constraint+"'", 1)
			s, problems := Parse([]byte(doc), "ferry.yaml", "")
			if tt.problem != "" {
				if !strings.Contains(strings.Join(problems, "\n"), tt.problem) {
					t.Errorf("problems %q, want one containing %q", problems, tt.problem)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatalf("problems: %v", problems)
			}
			d := s.Providers.Docker
			if d == nil || d.Endpoint != tt.endpoint || !d.ExposedByDefault || d.LabelPrefix != "traefik" || d.Network != "front" ||
				d.Watch == nil || *d.Watch || !d.UseBindPortIP || d.TLS == nil || d.TLS.CA != "/etc/docker/ca.pem" ||
				d.Constraints != tt.constraint || d.DefaultRule == nil || !strings.Contains(*d.DefaultRule, ".example") {
				t.Errorf("docker = %+v", d)
			}
		})
	}
}
