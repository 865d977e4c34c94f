package labels

import (
	"strings"
	"testing"
)

// TestRuleSyntaxLabels checks that ruleSyntax labels reach the routers
// through the shared decoder, in Traefik's spelling and any case, and
// that rules are checked in the syntax they name.
func TestRuleSyntaxLabels(t *testing.T) {
	tests := []struct {
		name       string
		prefix     string
		labels     map[string]string
		httpSyntax string // want on router "web"
		tcpSyntax  string // want on TCP router "db"
		problem    string // want among the problems; "" for none
	}{
		{"v2 router", "ferry", map[string]string{
			"ferry.http.routers.web.rule":       "Host(`a.test`, `b.test`) && Headers(`X-Env`, `prod`)",
			"ferry.http.routers.web.rulesyntax": "v2",
		}, "v2", "", ""},
		{"traefik spelling", "traefik", map[string]string{
			"traefik.http.routers.web.rule":       "HostRegexp(`{subdomain:[a-z]+}.traefik.com`)",
			"traefik.http.routers.web.ruleSyntax": "v2",
			"traefik.tcp.routers.db.rule":         "HostSNI(`db1.test`, `db2.test`)",
			"traefik.tcp.routers.db.RULESYNTAX":   "v2",
			"traefik.tcp.routers.db.tls":          "true",
		}, "v2", "v2", ""},
		{"v3 router", "ferry", map[string]string{
			"ferry.http.routers.web.rule":       "HostRegexp(`^[a-z]+\\.traefik\\.com$`)",
			"ferry.http.routers.web.ruleSyntax": "v3",
		}, "v3", "", ""},
		{"v2 rule without ruleSyntax is left to the default", "ferry", map[string]string{
			"ferry.http.routers.web.rule": "Host(`a.test`, `b.test`)",
		}, "", "", ""},
		{"v3 rule marked v2", "ferry", map[string]string{
			"ferry.http.routers.web.rule":       "Host(`*.a.test`)",
			"ferry.http.routers.web.rulesyntax": "v2",
		}, "v2", "", "label ferry.http.routers.web.rule=\"Host(`*.a.test`)\": rule: at position 5: Host: argument 1 \"*.a.test\": wildcard hosts need rule syntax v3"},
		{"bad in both syntaxes", "ferry", map[string]string{
			"ferry.http.routers.web.rule": "Hots(`a.test`)",
		}, "", "", `unknown matcher "Hots" in rule syntax v3 (did you mean Host?)`},
		{"v2 TCP rule marked v3", "ferry", map[string]string{
			"ferry.tcp.routers.db.rule":       "HostSNI(`db1.test`, `db2.test`)",
			"ferry.tcp.routers.db.ruleSyntax": "v3",
			"ferry.tcp.routers.db.tls":        "true",
		}, "", "v3", "the rule is valid in rule syntax v2: set the router's ruleSyntax to v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := map[string]string{tt.prefix + ".enable": "true"}
			for k, v := range tt.labels {
				labels[k] = v
			}
			cfg, ps := Build(workload("app", labels, "80"), Options{Prefix: tt.prefix})
			var all []string
			for _, p := range ps {
				all = append(all, p.Error())
			}
			got := strings.Join(all, "\n")
			if tt.problem == "" && got != "" || !strings.Contains(got, tt.problem) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.problem)
			}
			if cfg == nil {
				t.Fatal("no configuration")
			}
			if r := cfg.HTTP.Routers["web"]; tt.httpSyntax != "" && (r == nil || r.RuleSyntax != tt.httpSyntax) {
				t.Errorf("http router web: %+v, want ruleSyntax %q", r, tt.httpSyntax)
			}
			if r := cfg.TCP.Routers["db"]; tt.tcpSyntax != "" && (r == nil || r.RuleSyntax != tt.tcpSyntax) {
				t.Errorf("tcp router db: %+v, want ruleSyntax %q", r, tt.tcpSyntax)
			}
		})
	}
}
