package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// startFerryWith runs the binary with args and extra environment variables
// (no static file unless args name one) and waits until its API at api
// answers /ping; web is the address of its entry point "web".
func startFerryWith(t *testing.T, web, api string, args, env []string) *Ferry {
	t.Helper()
	p := &process{stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(ferryBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start ferry: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("ferry %q with %q; stderr (tail):\n%s", args, env, tail(p.stderr.String(), 8000))
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 4, ResponseHeaderTimeout: waitTimeout}
	t.Cleanup(tr.CloseIdleConnections)
	f := &Ferry{t: t, Web: web, API: api, process: p, client: &http.Client{
		Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	f.waitPing()
	return f
}

// TestStaticFromFlagsAndEnvironment serves the same static keys given as a
// file, as flags and as FERRY_* variables, the way Traefik users pass them,
// and checks that the three serve alike; then that a misspelt flag or
// variable stops Ferry with its name and the likely spelling.
func TestStaticFromFlagsAndEnvironment(t *testing.T) {
	b := StartBackend(t, "flags-app", nil)
	dir := t.TempDir()
	dynPath := filepath.Join(dir, "dyn.yaml")
	writeFileAtomic(t, dynPath, dyn(`http:
  routers:
    app:
      rule: Host('app.test')
      service: app
    moved:
      rule: Host('app.test') && PathPrefix('/old')
      service: app
      middlewares: [to-https]
  middlewares:
    to-https:
      redirectScheme:
        scheme: https
  services:
    app:
      loadBalancer:
        servers:
          - url: %q
`, b.URL))

	// keys are the static keys, in the order of the command line.
	keys := func(web, api string) [][2]string {
		return [][2]string{{"entryPoints.web.address", web}, {"providers.file.filename", dynPath}, {"api.insecure", "true"},
			{"api.address", api}, {"log.format", "json"}}
	}
	modes := []struct {
		name string
		run  func(web, api string) (args, env []string)
	}{
		{"file", func(web, api string) ([]string, []string) {
			path := filepath.Join(t.TempDir(), "ferry.yaml")
			writeFileAtomic(t, path, fmt.Sprintf("entryPoints:\n  web:\n    address: %q\nproviders:\n  file:\n    filename: %q\n"+
				"api:\n  insecure: true\n  address: %q\nlog:\n  format: json\n", web, dynPath, api))
			return []string{"--configFile", path}, nil
		}},
		{"flags", func(web, api string) (args, _ []string) {
			for _, kv := range keys(web, api) {
				args = append(args, "--"+kv[0]+"="+kv[1])
			}
			return args, nil
		}},
		{"environment", func(web, api string) (_, env []string) {
			for _, kv := range keys(web, api) {
				env = append(env, "FERRY_"+strings.ToUpper(strings.ReplaceAll(kv[0], ".", "_"))+"="+kv[1])
			}
			return nil, env
		}},
	}
	type answer struct {
		status   int
		backend  string
		location string
	}
	var first map[string]answer
	var firstRouters []string
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			web, api := freeAddr(t), freeAddr(t)
			args, env := m.run(web, api)
			f := startFerryWith(t, web, api, args, env)
			f.WaitRoute("app.test", "/", http.StatusOK, "flags-app")
			got := map[string]answer{}
			for _, req := range []struct{ host, path string }{{"app.test", "/"}, {"app.test", "/old/page"}, {"other.test", "/"}} {
				res := f.Get(req.host, req.path)
				got[req.host+req.path] = answer{res.Status, res.Backend(), res.Header.Get("Location")}
			}
			if a := got["app.test/old/page"]; a.status/100 != 3 || !strings.HasPrefix(a.location, "https://app.test/old/page") {
				t.Errorf("the redirectScheme middleware: got %+v", a)
			}
			list, _ := f.Routers()
			var routers []string
			for _, r := range list {
				routers = append(routers, fmt.Sprintf("%s %s %s", r.Name, r.Status, r.Rule))
			}
			if first == nil {
				first, firstRouters = got, routers
				return
			}
			if !reflect.DeepEqual(got, first) {
				t.Errorf("answers differ from the static file's:\n got %+v\nwant %+v", got, first)
			}
			if !reflect.DeepEqual(routers, firstRouters) {
				t.Errorf("routers differ from the static file's:\n got %q\nwant %q", routers, firstRouters)
			}
		})
	}

	t.Run("misspelt", func(t *testing.T) {
		out, code := runFerry(t, "--entryPoints.web.adress=127.0.0.1:1", "--providers.file.filename="+dynPath)
		if code != 1 || !strings.Contains(out, `--entryPoints.web.adress: unknown key "adress" (did you mean --entryPoints.web.address?)`) ||
			strings.Contains(out, "entry point listening") {
			t.Errorf("misspelt flag: exit %d\n%s", code, out)
		}
		out, code = runFerryEnv(t, []string{"FERRY_ENTRYPOINTS_WEB_ADDRESS=127.0.0.1:1", "FERRY_PROVIDER_FILE_FILENAME=" + dynPath}, "check")
		if code != 1 || !strings.Contains(out, `FERRY_PROVIDER_FILE_FILENAME: unknown key "PROVIDER" (did you mean FERRY_PROVIDERS_FILE_FILENAME?)`) {
			t.Errorf("misspelt variable: exit %d\n%s", code, out)
		}
	})
}

// runFerryEnv is runFerry with extra environment variables.
func runFerryEnv(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ferry %s did not end within 15s; output:\n%s", strings.Join(args, " "), out)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("run ferry %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// TestMigrationCheck runs `ferry check --from-traefik` on the Traefik v3
// static and dynamic files and labels of configs/testdata/traefik: the
// report names what Ferry does not serve, and the exit code says so.
func TestMigrationCheck(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	td := filepath.Join(root, "configs", "testdata", "traefik")
	out, code := runFerry(t, "check", "--from-traefik", filepath.Join(td, "traefik.yml"), "--labels", filepath.Join(td, "labels.txt"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, w := range []string{
		"differs: certificatesResolvers.le.acme.storage",
		"differs: providers.docker.labelPrefix",
		"drop: global",
		"0 unsupported, 0 value(s) refused",
		`http.routers.wiki.middlewares[1]: middleware "bouncer@file" is disabled`,
		`container "gitea": tcp.routers.gitea-ssh@docker.entryPoints[0]: entry point "ssh" does not exist`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestAPIDebug: with api.debug (flags, as Traefik users pass it) the
// insecure API listener serves Go's profiler and /debug/vars; without it
// they are not found, and no entry point serves them either way.
func TestAPIDebug(t *testing.T) {
	for _, debug := range []bool{true, false} {
		t.Run(fmt.Sprint("debug=", debug), func(t *testing.T) {
			web, api := freeAddr(t), freeAddr(t)
			args := []string{"--entryPoints.web.address=" + web, "--api.insecure", "--api.address=" + api}
			if debug {
				args = append(args, "--api.debug=true")
			}
			f := startFerryWith(t, web, api, args, nil)
			for _, path := range []string{"/debug/pprof/goroutine?debug=1", "/debug/vars"} {
				resp, err := f.client.Get("http://" + api + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				served := resp.StatusCode == http.StatusOK && (strings.Contains(string(body), "goroutine profile") || strings.Contains(string(body), `"memstats"`))
				if served != debug {
					t.Errorf("API %s: %d %.80q, want served=%v", path, resp.StatusCode, body, debug)
				}
				if res := f.Get("any.test", path); res.Status != http.StatusNotFound {
					t.Errorf("entry point %s: %d, want 404", path, res.Status)
				}
			}
		})
	}
}
