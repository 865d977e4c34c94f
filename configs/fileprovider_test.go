package configs

import (
	"strings"
	"testing"
	"time"
)

func TestFileProviderEmptyGrace(t *testing.T) {
	tests := []struct {
		name    string
		setting string // the providers.file.emptyGrace line, "" for none
		want    time.Duration
		problem string
	}{
		{"default", "", time.Second, ""},
		{"set", "emptyGrace: 250ms", 250 * time.Millisecond, ""},
		{"off", "emptyGrace: 0s", 0, ""},
		{"negative", "emptyGrace: -1s", 0, "providers.file.emptyGrace: negative duration"},
		{"not a duration", "emptyGrace: soon", 0, "providers.file.emptyGrace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "entryPoints:\n  web:\n    address: ':80'\nproviders:\n  file:\n    filename: dyn.yaml\n    " + tt.setting + "\n"
			s, problems := Parse([]byte(yaml), "ferry.yaml", "/etc/ferry")
			all := strings.Join(problems, "\n")
			if tt.problem != "" {
				if !strings.Contains(all, tt.problem) {
					t.Fatalf("problems %q do not mention %q", all, tt.problem)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatal(all)
			}
			if got := s.Providers.File.EmptyGraceDuration(); got != tt.want {
				t.Errorf("emptyGrace = %v, want %v", got, tt.want)
			}
		})
	}
}
