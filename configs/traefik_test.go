package configs

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareTraefik reads a realistic Traefik v3 static file and checks
// the verdict on each key a user would look for.
func TestCompareTraefik(t *testing.T) {
	rep, err := CompareTraefik(filepath.Join("testdata", "traefik", "traefik.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range rep.Findings {
		got[f.Path] = f
	}
	want := []struct {
		path    string
		verdict Verdict
		line    int
		note    string // a part of the note
	}{
		{"global", Drop, 4, "never checks for new versions"},
		{"accessLog.bufferingSize", Drop, 15, ""},
		{"accessLog.filters", Drop, 16, ""},
		{"api.insecure", Differs, 22, "default :8080"},
		{"ping", Drop, 24, "/ping"},
		{"providers.providersThrottleDuration", Drop, 54, "debounce"},
		{"providers.docker.labelPrefix", Differs, 55, "labelPrefix: traefik"},
		{"providers.file.filename", Differs, 60, "static file's directory"},
		{"certificatesResolvers.le.acme.storage", Differs, 67, "acme.json"},
		{"certificatesResolvers.le.acme.keyType", Differs, 65, "RSA4096"},
	}
	for _, w := range want {
		f, ok := got[w.path]
		switch {
		case !ok:
			t.Errorf("%s: no finding, want %s", w.path, w.verdict)
		case f.Verdict != w.verdict || f.Line != w.line || !strings.Contains(f.Note, w.note):
			t.Errorf("%s: got %s at line %d (%s), want %s at line %d with %q", w.path, f.Verdict, f.Line, f.Note, w.verdict, w.line, w.note)
		}
		delete(got, w.path)
	}
	for p, f := range got {
		t.Errorf("unexpected finding %s: %s: %s", p, f.Verdict, f.Note)
	}
	// Keys Ferry reads as Traefik does are not reported: the docker
	// endpoint, exposedByDefault when set, the redirections, the entry
	// point addresses (a UDP one too), metrics.
	for _, p := range []string{"providers.docker.endpoint", "providers.docker.exposedByDefault", "entryPoints.dns.address",
		"entryPoints.web.http.redirections.entryPoint.to", "metrics.prometheus.entryPoint"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s reported, want read the same", p)
		}
	}
	if rep.Same < 15 {
		t.Errorf("%d keys read the same, want at least 15", rep.Same)
	}
	// Traefik's upper-case log level and the insecure API without an
	// address pass Ferry's checks; the entry point's middlewares and
	// certificate resolver are read the same.
	if len(rep.Problems) > 0 {
		t.Errorf("Ferry's checks refuse the file: %q", rep.Problems)
	}
	for _, p := range []string{"entryPoints.websecure.http.middlewares", "entryPoints.websecure.http.tls.certResolver", "log.level"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s reported, want read the same", p)
		}
	}
	if rep.DockerExposedByDefault {
		t.Error("DockerExposedByDefault = true, the file sets false")
	}
	// What Ferry reads of the file, the keys it lacks left out.
	if s := rep.Static; s == nil || s.Providers.File == nil || s.Providers.File.Filename != filepath.Join("testdata", "traefik", "dynamic.yml") ||
		s.EntryPoints["dns"] == nil || !s.EntryPoints["dns"].IsUDP() || s.Providers.Docker == nil || s.Providers.Docker.Network != "proxy" {
		t.Errorf("Ferry's reading of the file: %+v", rep.Static)
	}
}

// TestCompareTraefikClean: a file Ferry reads as Traefik does, once its
// defaults are written out, has no finding and does not fail.
func TestCompareTraefikClean(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traefik.yml")
	writeFile(t, path, `entryPoints:
  web:
    address: ":80"
providers:
  docker:
    exposedByDefault: true
    labelPrefix: traefik
api:
  insecure: true
  address: ":8080"
`)
	rep, err := CompareTraefik(path)
	if err != nil {
		t.Fatal(err)
	}
	// api.insecure is still reported (Traefik has no api.address); nothing fails.
	if len(rep.Findings) != 1 || rep.Findings[0].Path != "api.insecure" || rep.Failed() {
		t.Errorf("findings %+v, problems %q, failed %v", rep.Findings, rep.Problems, rep.Failed())
	}
}

// TestCompareTraefikTOML reads the TOML form of a file, and a provider
// Ferry lacks fails the check.
func TestCompareTraefikTOML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traefik.toml")
	writeFile(t, path, `[entryPoints.web]
address = ":80"

[providers.swarm]
endpoint = "tcp://127.0.0.1:2377"

[providers.docker]
`)
	rep, err := CompareTraefik(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range rep.Findings {
		lines = append(lines, fmt.Sprintf("%s %s", f.Verdict, f.Path))
	}
	all := strings.Join(lines, "\n")
	for _, w := range []string{"unsupported providers.swarm", "differs providers.docker.exposedByDefault", "differs providers.docker.labelPrefix"} {
		if !strings.Contains(all, w) {
			t.Errorf("findings lack %q:\n%s", w, all)
		}
	}
	if !rep.Failed() {
		t.Error("a Swarm provider must fail the check")
	}
}
