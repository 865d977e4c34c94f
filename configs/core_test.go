package configs

import (
	"strings"
	"testing"
)

func TestCoreDefaultRuleSyntax(t *testing.T) {
	tests := []struct {
		name, yaml, want, problem string
	}{
		{"unset", "", "", ""},
		{"v2", "core:\n  defaultRuleSyntax: v2\n", "v2", ""},
		{"v3", "core:\n  defaultRuleSyntax: v3\n", "v3", ""},
		{"any case", "core:\n  defaultrulesyntax: V2\n", "v2", ""},
		{"bad value", "core:\n  defaultRuleSyntax: v1\n", "", `ferry.yaml: core.defaultRuleSyntax: unknown rule syntax "v1": want v2 or v3`},
		{"unknown key", "core:\n  defaultRuleSintax: v2\n", "", "defaultRuleSintax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := Parse([]byte("entryPoints:\n  web:\n    address: 127.0.0.1:8080\n"+tt.yaml), "ferry.yaml", "")
			got := strings.Join(problems, "\n")
			if tt.problem == "" && got != "" || !strings.Contains(got, tt.problem) {
				t.Fatalf("problems %q, want %q", got, tt.problem)
			}
			if tt.problem == "" && s.DefaultRuleSyntax() != tt.want {
				t.Errorf("DefaultRuleSyntax() = %q, want %q", s.DefaultRuleSyntax(), tt.want)
			}
		})
	}
}
