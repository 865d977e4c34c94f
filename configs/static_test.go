package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestParseStatic(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings of the problems, all required; none means valid
	}{
		{"minimal", "entryPoints:\n  web:\n    address: ':80'\n", nil},
		{"keys are case-insensitive", "entrypoints:\n  web:\n    Address: ':80'\n", nil},
		{"unknown top-level key", "entryPoints:\n  web:\n    address: ':80'\nprovider:\n  file: {}\n", []string{"provider", "line 4"}},
		{"unknown nested key names its path", "entryPoints:\n  web:\n    adress: ':80'\n", []string{"entryPoints.web.adress", "entryPoints.web.address: missing"}},
		{"no entry points", "log:\n  level: info\n", []string{"at least one entry point"}},
		{"file provider needs a source", "entryPoints:\n  web:\n    address: ':80'\nproviders:\n  file:\n    watch: true\n", []string{"providers.file"}},
		{"bad log level", "entryPoints:\n  web:\n    address: ':80'\nlog:\n  level: loud\n", []string{"log.level"}},
		{"bad duration", "entryPoints:\n  web:\n    address: ':80'\nproviders:\n  debounce: soon\n", []string{"providers.debounce"}},
		{"bad access log format", "entryPoints:\n  web:\n    address: ':80'\naccessLog:\n  format: xml\n", []string{"accessLog.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Parse([]byte(tt.yaml), "ferry.yaml", "/etc/ferry")
			all := strings.Join(problems, "\n")
			if len(tt.wantErr) == 0 && len(problems) > 0 {
				t.Fatalf("unexpected problems:\n%s", all)
			}
			if len(tt.wantErr) > 0 && len(problems) == 0 {
				t.Fatalf("no problem reported, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestParseStaticValues(t *testing.T) {
	s, problems := Parse([]byte(`
entryPoints:
  web:
    address: "127.0.0.1:8080"
    http:
      tls: {}
    transport:
      lifeCycle:
        graceTimeOut: 3s
providers:
  debounce: 50ms
  file:
    filename: dyn.yaml
api:
  insecure: true
  address: 127.0.0.1:8081
accessLog:
  filePath: access.log
`), "ferry.yaml", "/etc/ferry")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	ep := s.EntryPoints["web"]
	if ep.HTTP == nil || ep.HTTP.TLS == nil {
		t.Error("http.tls: {} not decoded as present")
	}
	if ep.GraceTimeout() != 3*time.Second {
		t.Errorf("grace timeout %v", ep.GraceTimeout())
	}
	if s.Providers.Debounce != config.Duration(50*time.Millisecond) {
		t.Errorf("debounce %v", s.Providers.Debounce)
	}
	if s.Providers.File.Filename != "/etc/ferry/dyn.yaml" || !s.Providers.File.Watches() {
		t.Errorf("file provider %+v", s.Providers.File)
	}
	if s.AccessLog.FilePath != "/etc/ferry/access.log" {
		t.Errorf("access log path %q", s.AccessLog.FilePath)
	}
}

func TestEmbeddedDefaultIsValid(t *testing.T) {
	if _, problems := Parse(DefaultStatic, "embedded", "configs"); len(problems) > 0 {
		t.Fatal(problems)
	}
}

// TestAPIDebugNeedsInsecure: the profiler is never served through routers,
// so api.debug without the insecure listener is refused with the hint.
func TestAPIDebugNeedsInsecure(t *testing.T) {
	s := &Static{API: &APIConfig{Debug: true}}
	if ps := s.checkAPI("ferry.yaml"); len(ps) != 1 || !strings.Contains(ps[0], "api.debug: the profiler is served on the insecure API listener only") {
		t.Errorf("problems %q", ps)
	}
	s = &Static{API: &APIConfig{Debug: true, Insecure: true}}
	if ps := s.checkAPI("ferry.yaml"); len(ps) != 0 || s.API.Address != DefaultInsecureAPIAddress {
		t.Errorf("problems %q, address %q", ps, s.API.Address)
	}
}
