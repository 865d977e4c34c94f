package e2e

import (
	"strings"
	"testing"
)

// TestCLIUsage runs the binary: help lists the commands, and an unknown
// command or a stray argument is a usage error (exit 2) instead of
// serving the embedded demo configuration.
func TestCLIUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--help"}, 0, []string{"Usage: ferry", "serve", "check", "version", "-config"}},
		{[]string{"help"}, 0, []string{"Usage: ferry", "serve", "check", "version"}},
		{[]string{"frobnicate", "web@file"}, 2, []string{`unknown command "frobnicate"`, "Usage: ferry"}},
		{[]string{"serve", "extra"}, 2, []string{`unexpected argument "extra"`, "Usage: ferry"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, code := runFerry(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "entry point listening") {
				t.Errorf("it served:\n%s", out)
			}
		})
	}
}
