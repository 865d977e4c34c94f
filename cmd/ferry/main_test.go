package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "ferry.yaml")
	writeFile(t, valid, "entryPoints:\n  web:\n    address: 127.0.0.1:0\nproviders:\n  file:\n    filename: dyn.yaml\n")
	writeFile(t, filepath.Join(dir, "dyn.yaml"), "http:\n  routers:\n    web:\n      rule: Host(`a`)\n      service: app\n"+
		"  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:1\n")
	invalid := filepath.Join(dir, "bad.yaml")
	writeFile(t, invalid, "entryPoints:\n  web:\n    adress: ':80'\n")
	usageLines := []string{"Usage: ferry", "serve ", "check ", "explain ", "version ", "help ", "-config"}

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings required on stdout
		stderr     []string // substrings required on stderr
		quietOut   bool     // nothing on stdout
		quietError bool     // nothing on stderr
	}{
		{"--help", []string{"--help"}, 0, usageLines, nil, false, true},
		{"-h", []string{"-h"}, 0, usageLines, nil, false, true},
		{"help", []string{"help"}, 0, usageLines, nil, false, true},
		{"help on a command", []string{"help", "check"}, 0, usageLines, nil, false, true},
		{"flag help of a command", []string{"check", "--help"}, 0, usageLines, nil, false, true},
		{"version", []string{"version"}, 0, []string{"ferry dev"}, nil, false, true},
		{"unknown command", []string{"frobnicate", "web@file"}, 2, nil, append([]string{`unknown command "frobnicate"`}, usageLines...), true, false},
		{"stray argument to serve", []string{"serve", "extra"}, 2, nil, append([]string{`serve: unexpected argument "extra"`}, usageLines...), true, false},
		{"stray argument after flags", []string{"--config", valid, "extra"}, 2, nil, []string{`serve: unexpected argument "extra"`, "Usage: ferry"}, true, false},
		{"stray argument to check", []string{"check", "--config", valid, "more"}, 2, nil, []string{`check: unexpected argument "more"`}, true, false},
		{"stray argument to version", []string{"version", "now"}, 2, nil, []string{`version: unexpected argument "now"`}, true, false},
		{"help on an unknown topic", []string{"help", "frobnicate"}, 2, nil, []string{`unexpected argument "frobnicate"`}, true, false},
		{"explain without a request", []string{"explain", "--config", valid}, 2, nil, []string{"explain: want one request", "Usage: ferry"}, true, false},
		{"explain", []string{"explain", "--config", valid, "GET http://a/"}, 0, []string{"entry point web: web@file (priority 9) serves it over plain HTTP"}, nil, false, true},
		{"explain, no router", []string{"explain", "http://b/", "--config", valid}, 1, []string{"no router matches on web over plain HTTP: 404"}, nil, false, true},
		{"unknown flag", []string{"--bogus"}, 2, nil, []string{"flag provided but not defined: -bogus", "Usage: ferry"}, true, false},
		{"check a valid configuration", []string{"check", "--config", valid}, 0, []string{"configuration OK: 1 entry point(s), 1 router(s), 1 service(s)"}, nil, false, true},
		{"check an invalid configuration", []string{"check", "--config", invalid}, 1, []string{"entryPoints.web.adress"}, nil, false, true},
		{"serve an invalid configuration", []string{"--config", invalid}, 1, nil, []string{"entryPoints.web.adress"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A cancelled context: were a usage error to start serving, it
			// would return at once, with 0.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var stdout, stderr bytes.Buffer
			code := runCommand(ctx, tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("ferry %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tt.args, " "), code, tt.code, &stdout, &stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, &stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, &stderr)
				}
			}
			if tt.quietOut && stdout.Len() > 0 {
				t.Errorf("unexpected stdout:\n%s", &stdout)
			}
			if tt.quietError && stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &stderr)
			}
		})
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
