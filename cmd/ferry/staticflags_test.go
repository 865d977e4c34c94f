package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the command line with a cancelled context (nothing may serve).
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := runCommand(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestStaticFlagsAndVariables(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "dyn.yaml")
	writeFile(t, dyn, "http:\n  routers:\n    web:\n      rule: Host(`a`)\n      service: app\n"+
		"  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:1\n")
	static := filepath.Join(dir, "ferry.yaml")
	writeFile(t, static, "entryPoints:\n  web:\n    address: 127.0.0.1:0\n")
	ok := "configuration OK: 1 entry point(s), 1 router(s), 1 service(s)"
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout []string
	}{
		{"flags alone", nil, []string{"check", "--entryPoints.web.address=127.0.0.1:0", "--providers.file.filename", dyn,
			"--api.insecure", "--api.address=127.0.0.1:0"}, 0, []string{ok}},
		{"flags over a file named by --configFile", nil, []string{"check", "--configFile", static, "--providers.file.filename=" + dyn}, 0, []string{ok}},
		{"variables alone", map[string]string{"FERRY_ENTRYPOINTS_WEB_ADDRESS": "127.0.0.1:0", "FERRY_PROVIDERS_FILE_FILENAME": dyn}, []string{"check"}, 0, []string{ok}},
		{"misspelt flag", nil, []string{"check", "--entryPoints.web.adress=:80"}, 1,
			[]string{`--entryPoints.web.adress: unknown key "adress" (did you mean --entryPoints.web.address?)`, "problem(s) in flags"}},
		{"misspelt variable", map[string]string{"FERRY_ENTRYPOINTS_WEB_ADDRES": ":80"}, []string{"check", "--config", static}, 1,
			[]string{`FERRY_ENTRYPOINTS_WEB_ADDRES: unknown key "ADDRES" (did you mean FERRY_ENTRYPOINTS_WEB_ADDRESS?)`,
				"problem(s) in " + static + " + environment"}},
		{"missing value", nil, []string{"check", "--config", static, "--log.level"}, 1, []string{"--log.level: missing value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	// serve reads the same: a misspelt flag stops it before it serves.
	code, _, stderr := run(t, "--entryPoints.web.adress=:80")
	if code != 1 || !strings.Contains(stderr, "did you mean --entryPoints.web.address?") {
		t.Errorf("serve with a misspelt flag: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestMigrateCommand(t *testing.T) {
	td := filepath.Join("..", "..", "configs", "testdata", "traefik")
	code, stdout, stderr := run(t, "check", "--from-traefik", filepath.Join(td, "traefik.yml"), "--labels", filepath.Join(td, "labels.txt"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (routers not served)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, w := range []string{
		"traefik.yml:4: drop: global: ",
		"traefik.yml:55: differs: providers.docker.labelPrefix: ",
		// The dynamic file: a plugin middleware is not served, nor the router
		// using it (its middlewares come after the entry point's).
		"not served: " + filepath.Join(td, "dynamic.yml") + ":15: http.middlewares.bouncer",
		`http.routers.wiki.middlewares[1]: middleware "bouncer@file" is disabled`,
		// The labels: gitea's SSH router names an entry point the file lacks.
		`labels.txt: container "gitea": tcp.routers.gitea-ssh@docker.entryPoints[0]: entry point "ssh" does not exist`,
		"0 unsupported, 0 value(s) refused",
		"result: something Traefik serves would not be served the same by Ferry",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	// The containers that Ferry serves as Traefik does are not reported.
	for _, name := range []string{"whoami", "grafana", "backup"} {
		if strings.Contains(stdout, `container "`+name+`"`) {
			t.Errorf("container %s reported:\n%s", name, stdout)
		}
	}

	clean := filepath.Join(t.TempDir(), "traefik.yml")
	writeFile(t, clean, "entryPoints:\n  web:\n    address: \":80\"\nproviders:\n  docker:\n    exposedByDefault: false\n    labelPrefix: traefik\n")
	if code, stdout, _ := run(t, "check", "--from-traefik="+clean); code != 0 || !strings.Contains(stdout, "result: Ferry serves what Traefik serves") {
		t.Errorf("a file Ferry reads as Traefik does: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{{"check", "--from-traefik"}, {"check", "--from-traefik", clean, "extra"}, {"check", "--from-traefik", clean, "--bogus"}} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestReadLabelSets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels")
	writeFile(t, path, `# comment
[api ports=8080,9090/tcp]
traefik.enable=true
traefik.http.routers.api.rule=Host(`+"`a`"+`)

- "traefik.enable=true"
  traefik.http.routers.x.rule: Host(`+"`x=y`"+`)
`)
	sets, err := readLabelSets(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].name != "api" || strings.Join(sets[0].ports, ",") != "8080,9090" || sets[1].name != "container-2" ||
		sets[1].labels["traefik.enable"] != "true" || sets[1].labels["traefik.http.routers.x.rule"] != "Host(`x=y`)" {
		t.Errorf("sets: %+v", sets)
	}
	writeFile(t, path, `[{"Name": "/web", "Config": {"Labels": {"traefik.enable": "true"}, "ExposedPorts": {"80/tcp": {}, "53/udp": {}}}}]`)
	if sets, err = readLabelSets(path); err != nil || len(sets) != 1 || sets[0].name != "web" || strings.Join(sets[0].ports, ",") != "80" {
		t.Errorf("docker inspect JSON: %+v %v", sets, err)
	}
	writeFile(t, path, "[api]\nnot a label\n")
	if _, err := readLabelSets(path); err == nil || !strings.Contains(err.Error(), ":2: want key=value") {
		t.Errorf("a bad line: %v", err)
	}
}
