package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// splitArgs runs SplitArgs with -config as the command's only own flag.
func splitArgs(t *testing.T, args ...string) ([]Flag, []string) {
	t.Helper()
	flags, rest, problems := SplitArgs(args, func(name string) (bool, bool) { return name == "config" || name == "configFile", true })
	if len(problems) > 0 {
		t.Fatalf("SplitArgs(%q): %v", args, problems)
	}
	return flags, rest
}

func TestSplitArgs(t *testing.T) {
	flags, rest := splitArgs(t, "--config", "f.yaml", "--entryPoints.web.address=:80", "-api.insecure",
		"--providers.docker", "--log.level", "debug", "--api", "--bogus", "extra", "--", "--log.level=x")
	want := []Flag{
		{"--entryPoints.web.address", "entryPoints.web.address", ":80"},
		{"--api.insecure", "api.insecure", "true"},
		{"--providers.docker", "providers.docker", "true"},
		{"--log.level", "log.level", "debug"},
		{"--api", "api", "true"},
	}
	if !reflect.DeepEqual(flags, want) {
		t.Errorf("flags:\n got %+v\nwant %+v", flags, want)
	}
	if wantRest := []string{"--config", "f.yaml", "--bogus", "extra", "--", "--log.level=x"}; !reflect.DeepEqual(rest, wantRest) {
		t.Errorf("rest: got %q, want %q", rest, wantRest)
	}
	_, _, problems := SplitArgs([]string{"--log.level"}, func(string) (bool, bool) { return false, false })
	if len(problems) != 1 || !strings.Contains(problems[0], "--log.level: missing value") {
		t.Errorf("a string key without a value: problems %q", problems)
	}
}

// load runs LoadSources and fails on problems.
func load(t *testing.T, src Sources) *Static {
	t.Helper()
	s, problems, _ := LoadSources(src)
	if len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
	return s
}

func TestFlagsAreTheFileKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ferry.yaml")
	writeFile(t, file, `entryPoints:
  web:
    address: "127.0.0.1:8000"
    forwardedHeaders:
      trustedIPs: [10.0.0.1, 10.0.0.2]
providers:
  docker:
    exposedByDefault: false
    network: front
api:
  insecure: true
  address: 127.0.0.1:8001
`)
	flags, _ := splitArgs(t, "--entryPoints.web.address=127.0.0.1:8000", "--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.1,10.0.0.2",
		"--providers.docker.exposedByDefault=false", "--providers.docker.network=front", "--api.insecure", "--api.address=127.0.0.1:8001")
	fromFile := load(t, Sources{File: file})
	fromFlags := load(t, Sources{Flags: flags})
	if !reflect.DeepEqual(fromFile, fromFlags) {
		t.Errorf("flags and file differ:\nfile  %+v\nflags %+v", fromFile, fromFlags)
	}
	env := []string{"FERRY_ENTRYPOINTS_WEB_ADDRESS=127.0.0.1:8000", "FERRY_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS=10.0.0.1,10.0.0.2",
		"ferry_providers_docker_exposedByDefault=false", "FERRY_PROVIDERS_DOCKER_NETWORK=front", "FERRY_API_INSECURE=true", "FERRY_API_ADDRESS=127.0.0.1:8001"}
	if fromEnv := load(t, Sources{Environ: env}); !reflect.DeepEqual(fromFile, fromEnv) {
		t.Errorf("variables and file differ:\nfile %+v\nenv  %+v", fromFile, fromEnv)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ferry.yaml")
	writeFile(t, file, `entryPoints:
  webSecure:
    address: ":443"
  web:
    address: ":80"
    forwardedHeaders:
      trustedIPs: [10.0.0.1, 10.0.0.2]
providers:
  docker:
    network: front
log:
  level: info
  format: json
`)
	flags, _ := splitArgs(t, "--entryPoints.web.address=:82", "--providers.docker", "--entryPoints.web.forwardedHeaders.trustedIPs[1]=10.9.9.9")
	s := load(t, Sources{File: file, Flags: flags, Environ: []string{
		"FERRY_ENTRYPOINTS_WEB_ADDRESS=:81", "FERRY_ENTRYPOINTS_WEBSECURE_ADDRESS=:8443", "FERRY_LOG_LEVEL=debug",
		"FERRY_ENTRYPOINTS_ADMIN_PORTAL_ADDRESS=:9000", "FERRY_ENTRYPOINTS_Intern_ADDRESS=:9001",
	}})
	checks := []struct{ what, got, want string }{
		{"flag over variable over file", s.EntryPoints["web"].Address, ":82"},
		{"variable over file, name in any case", s.EntryPoints["webSecure"].Address, ":8443"},
		{"variable over file", s.Log.Level, "debug"},
		{"file key left alone", s.Log.Format, "json"},
		{"a bare section keeps the file's options", s.Providers.Docker.Network, "front"},
		{"indexed item replaced", strings.Join(s.EntryPoints["web"].ForwardedHeaders.TrustedIPs, ","), "10.0.0.1,10.9.9.9"},
		{"a name with an underscore, lower-cased", s.EntryPoints["admin_portal"].Address, ":9000"},
		{"a name not all in capitals keeps its case", s.EntryPoints["Intern"].Address, ":9001"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(s.EntryPoints) != 4 {
		t.Errorf("entry points %v, want web, webSecure, admin_portal, Intern", sortedNames(s.EntryPoints))
	}
}

func TestSourcesWithoutFile(t *testing.T) {
	s, problems, name := LoadSources(Sources{})
	if len(problems) > 0 || name != "" || s.EntryPoints["web"] == nil {
		t.Fatalf("no source: want the embedded default, got %v %q %q", s, problems, name)
	}
	flags, _ := splitArgs(t, "--entryPoints.other.address=:9")
	s, _, name = LoadSources(Sources{Flags: flags})
	if name != "flags" || len(s.EntryPoints) != 1 || s.API != nil || s.Providers.File != nil {
		t.Errorf("flags alone: the default must not be under them; got %q entry points %v, api %v, file %v",
			name, sortedNames(s.EntryPoints), s.API, s.Providers.File)
	}
	// Variables that are not configuration leave the default in place.
	s, problems, name = LoadSources(Sources{Environ: notConfig()})
	if len(problems) > 0 || name != "" || s.EntryPoints["web"] == nil {
		t.Errorf("unrelated FERRY_ variables: want the embedded default, got %q %q", problems, name)
	}
}

// notConfig returns FERRY_ variables that are not static configuration: set
// by Kubernetes for a service named ferry, and by the project's test tools.
func notConfig() []string {
	return []string{
		"FERRY_PORT=tcp://10.0.0.1:80", "FERRY_PORT_80_TCP_ADDR=10.0.0.1", "FERRY_SERVICE_HOST=10.0.0.1", "FERRY_SERVICE_PORT_HTTP=80",
		"FERRY_E2E_BIN=/x", "FERRY_DOCKER_REQUIRED=1", "FERRY_PEBBLE_BIN=/x", "FERRY_CONSUL_BIN=/x", "FERRY_ETCD_BIN=/x",
		"FERRY_PROMETHEUS_BIN=/x", "FERRY_PROMETHEUS_REQUIRED=1", "FERRY_CHROMIUM_BIN=/x", "FERRY_CHROMIUM_REQUIRED=1",
		"FERRY_CHAOS=full", "FERRY_E2E_SCALE=1", "FERRY_KUBE_BIN_DIR=/x", "FERRY_KUBE_NETNS=1", "FERRY_IN_NETNS=1",
		"FERRY_DOCKER_MEASURE=1", "FERRY_SCREENSHOT_DIR=/x", "FERRY_GATEWAY_CRDS=/x", "FERRY_KNOT_BIN=/x",
		// Kubernetes' links to Services named ferry-api, ferry-metrics, ferry-tracing.
		"FERRY_API_SERVICE_HOST=10.0.0.2", "FERRY_API_SERVICE_PORT=8080", "FERRY_API_PORT=tcp://10.0.0.2:8080",
		"FERRY_API_PORT_8080_TCP=tcp://10.0.0.2:8080", "FERRY_API_PORT_8080_TCP_PROTO=tcp", "FERRY_METRICS_SERVICE_PORT_METRICS=9100",
		"FERRY_TRACING_PORT_4317_TCP_ADDR=10.0.0.3",
	}
}

func TestUnknownKeysAreNamed(t *testing.T) {
	tests := []struct {
		name  string
		src   Sources
		wants []string
	}{
		{"misspelt flag", Sources{Flags: []Flag{{"--entryPoints.web.adress", "entryPoints.web.adress", ":80"}}},
			[]string{`--entryPoints.web.adress: unknown key "adress" (did you mean --entryPoints.web.address?)`}},
		{"misspelt section", Sources{Flags: []Flag{{"--entryPoint.web.address", "entryPoint.web.address", ":80"}}},
			[]string{`--entryPoint.web.address: unknown key "entryPoint" (did you mean --entryPoints.web.address?)`}},
		{"unknown flag, nothing close", Sources{Flags: []Flag{{"--providers.frobnicator.x", "providers.frobnicator.x", "1"}}},
			[]string{`--providers.frobnicator.x: unknown key "frobnicator"`}},
		{"bad value", Sources{Flags: []Flag{{"--api.insecure", "api.insecure", "maybe"}}},
			[]string{`--api.insecure: invalid boolean "maybe"`}},
		{"bad index", Sources{Flags: []Flag{{"--x[a]", "x[a]", "1"}}}, []string{`--x[a]: bad list index`}},
		{"misspelt variable", Sources{Environ: []string{"FERRY_ENTRYPOINTS_WEB_ADRESS=:80"}},
			[]string{`FERRY_ENTRYPOINTS_WEB_ADRESS: unknown key "ADRESS" (did you mean FERRY_ENTRYPOINTS_WEB_ADDRESS?)`}},
		{"misspelt variable root", Sources{Environ: []string{"FERRY_ENTRYPOINT_WEB_ADDRESS=:80"}},
			[]string{`FERRY_ENTRYPOINT_WEB_ADDRESS: unknown key "ENTRYPOINT" (did you mean FERRY_ENTRYPOINTS_WEB_ADDRESS?)`}},
		{"conflicting flags", Sources{Flags: []Flag{{"--api", "api", "false"}, {"--api.insecure", "api.insecure", "true"}}},
			[]string{`--api has a value but --api.insecure is under it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems, _ := LoadSources(tt.src)
			all := strings.Join(problems, "\n")
			for _, w := range tt.wants {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestEnvIgnoresOtherVariables(t *testing.T) {
	entries, problems := envEntries(append(notConfig(), "PATH=/bin", "FERRY_=x", "HOME=/root"))
	if len(entries) > 0 || len(problems) > 0 {
		t.Errorf("want nothing read, got entries %v problems %q", entries, problems)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
