package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

func nopLogger() *zap.Logger { return zap.NewNop() }

// deadline bounds every wait for an update; changes arrive well within it.
const deadline = 5 * time.Second

// start runs a provider until the test ends and returns its updates and a
// function that cancels Run and returns its result.
func start(t *testing.T, log *zap.Logger, opts Options) (<-chan providers.Update, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan providers.Update)
	done := make(chan error, 1)
	go func() { done <- New(log, opts).Run(ctx, out) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(deadline):
				t.Error("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// next returns the next update.
func next(t *testing.T, ch <-chan providers.Update) providers.Update {
	t.Helper()
	select {
	case u := <-ch:
		if u.Provider != "file" || u.Config == nil {
			t.Fatalf("bad update %+v", u)
		}
		return u
	case <-time.After(deadline):
		t.Fatal("no update")
	}
	return providers.Update{}
}

// replace writes a file as editors and deployment tools do: a temporary
// file renamed over the old one, so no reader sees it half written.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFor returns the first update for which ok holds. A file written in
// place may be read half written first; those updates are skipped.
func waitFor(t *testing.T, ch <-chan providers.Update, ok func(providers.Update) bool) providers.Update {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case u := <-ch:
			if ok(u) {
				return u
			}
		case <-timeout:
			t.Fatal("no matching update")
		}
	}
}

func rule(u providers.Update, name string) string {
	if r := u.Config.HTTP.Routers[name]; r != nil {
		return r.Rule
	}
	return ""
}

func webWithRule(r string) string {
	return strings.Replace(webYAML, "Host(`example.com`)", r, 1)
}

func TestRunSingleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, webYAML)
	updates, _ := start(t, nopLogger(), Options{Filename: path, Watch: true})
	u := next(t, updates)
	if rule(u, "web") != "Host(`example.com`)" || u.Origins[router("web")] != path+":3" || len(u.Problems) != 0 {
		t.Fatalf("first update = %+v", u)
	}
	write(t, path, webWithRule("Host(`changed.example.com`)")) // in place
	waitFor(t, updates, func(u providers.Update) bool { return rule(u, "web") == "Host(`changed.example.com`)" })
}

func TestRunSameContentNotResent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dyn.yaml")
	write(t, path, webYAML)
	updates, _ := start(t, nopLogger(), Options{Directory: dir, Watch: true})
	next(t, updates)
	replace(t, path, webYAML)                                 // same content
	write(t, filepath.Join(dir, "notes.txt"), "ignored")      // not a config file
	write(t, filepath.Join(dir, "empty.yaml"), "# nothing\n") // adds nothing
	time.Sleep(100 * time.Millisecond)                        // let those events be handled first
	replace(t, path, webWithRule("Host(`b`)"))
	if u := next(t, updates); rule(u, "web") != "Host(`b`)" {
		t.Errorf("an update was sent for unchanged content: %q", rule(u, "web"))
	}
}

func TestRunSyntaxErrorKeepsLastGood(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	dir := t.TempDir()
	path := filepath.Join(dir, "dyn.yaml")
	write(t, path, webYAML)
	updates, _ := start(t, zap.New(core), Options{Directory: dir, Watch: true})
	next(t, updates)

	replace(t, path, webYAML+"  broken: [\n")
	u := next(t, updates)
	if rule(u, "web") != "Host(`example.com`)" {
		t.Error("last good content not served")
	}
	if len(u.Problems) != 1 || u.Problems[0].Kind != config.KindSource || u.Problems[0].Name != path ||
		!strings.HasPrefix(u.Problems[0].Message, "line ") {
		t.Errorf("problems = %v", u.Problems)
	}

	// Another file changing re-reads the broken one without logging again.
	write(t, filepath.Join(dir, "other.yaml"), "http: {routers: {o: {rule: x, service: app}}}")
	if u = next(t, updates); rule(u, "o") != "x" || rule(u, "web") == "" {
		t.Errorf("after other change: %+v", u.Config.HTTP.Routers)
	}
	errs := logs.FilterMessage("file does not parse").All()
	if len(errs) != 1 || errs[0].Level != zapcore.ErrorLevel || errs[0].ContextMap()["file"] != path {
		t.Fatalf("logs = %+v", logs.All())
	}
	if _, ok := errs[0].ContextMap()["line"]; !ok {
		t.Errorf("log has no line: %v", errs[0].ContextMap())
	}

	// Fixing the file clears the problem.
	replace(t, path, webWithRule("Host(`fixed`)"))
	if u = next(t, updates); rule(u, "web") != "Host(`fixed`)" || len(u.Problems) != 0 {
		t.Errorf("after fix: %q %v", rule(u, "web"), u.Problems)
	}
}

func TestRunSyntaxErrorAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, "http: [\n")
	updates, _ := start(t, nopLogger(), Options{Filename: path, Watch: true})
	u := next(t, updates)
	if len(u.Config.HTTP.Routers) != 0 || len(u.Problems) != 1 || u.Problems[0].Name != path {
		t.Errorf("update = %+v", u)
	}
}

func TestRunUnknownKeyInRouter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, webYAML)
	updates, _ := start(t, nopLogger(), Options{Filename: path, Watch: true})
	next(t, updates)
	replace(t, path, strings.Replace(webYAML, "  services:\n", "    api:\n      rule: Path(`/api`)\n      servce: app\n  services:\n", 1))
	u := next(t, updates)
	want := config.Problem{Kind: config.KindRouter, Name: "api", Field: "servce", Message: path + ":8: unknown key"}
	if len(u.Problems) != 1 || u.Problems[0] != want {
		t.Errorf("problems = %v, want %v", u.Problems, want)
	}
	if rule(u, "web") != "Host(`example.com`)" || rule(u, "api") != "Path(`/api`)" {
		t.Errorf("routers = %+v", u.Config.HTTP.Routers)
	}
}

func TestRunRenameReplace(t *testing.T) {
	tests := []struct {
		name string
		dir  bool
	}{
		{"file", false},
		{"directory", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dyn.yaml")
			write(t, path, webYAML)
			opts := Options{Filename: path, Watch: true}
			if tt.dir {
				opts = Options{Directory: dir, Watch: true}
			}
			updates, _ := start(t, nopLogger(), opts)
			next(t, updates)
			for i, r := range []string{"Host(`one`)", "Host(`two`)"} {
				// Editors and config tools write a temporary file, then rename it over.
				tmp := filepath.Join(dir, ".dyn.yaml.tmp"+string(rune('0'+i)))
				write(t, tmp, webWithRule(r))
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
				select {
				case u := <-updates:
					if rule(u, "web") != r {
						t.Errorf("rule = %q, want %q", rule(u, "web"), r)
					}
				case <-time.After(time.Second):
					t.Fatalf("no update within 1s after rename %d", i)
				}
			}
		})
	}
}

func TestRunDeleteAndRecreate(t *testing.T) {
	tests := []struct {
		name string
		dir  bool
	}{
		{"file", false},
		{"directory", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dyn.yaml")
			write(t, path, webYAML)
			opts := Options{Filename: path, Watch: true}
			if tt.dir {
				opts = Options{Directory: dir, Watch: true}
			}
			updates, _ := start(t, nopLogger(), opts)
			next(t, updates)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			u := next(t, updates)
			if len(u.Config.HTTP.Routers) != 0 {
				t.Errorf("deleted file still served: %+v", u.Config.HTTP.Routers)
			}
			if !tt.dir && (len(u.Problems) != 1 || u.Problems[0].Name != path) {
				t.Errorf("missing file problems = %v", u.Problems)
			}
			write(t, path, webWithRule("Host(`again`)"))
			u = waitFor(t, updates, func(u providers.Update) bool { return rule(u, "web") != "" })
			if rule(u, "web") != "Host(`again`)" || len(u.Problems) != 0 {
				t.Errorf("after re-create: %q %v", rule(u, "web"), u.Problems)
			}
		})
	}
}

func TestRunDirectoryAppearsLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf.d")
	updates, _ := start(t, nopLogger(), Options{Directory: dir, Watch: true})
	u := next(t, updates)
	if len(u.Problems) != 1 || u.Problems[0].Kind != config.KindSource || u.Problems[0].Name != dir {
		t.Fatalf("problems = %v", u.Problems)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "dyn.yaml"), webYAML)
	u = waitFor(t, updates, func(u providers.Update) bool { return rule(u, "web") != "" })
	if len(u.Problems) != 0 {
		t.Errorf("problems = %v", u.Problems)
	}
}

func TestRunWithoutWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.toml")
	write(t, path, "[http.routers.web]\nrule = \"Host(`a`)\"\n")
	updates, stop := start(t, nopLogger(), Options{Filename: path})
	if u := next(t, updates); rule(u, "web") != "Host(`a`)" {
		t.Fatalf("update = %+v", u)
	}
	write(t, path, "[http.routers.web]\nrule = \"Host(`b`)\"\n")
	select {
	case u := <-updates:
		t.Fatalf("second update without watch: %+v", u)
	case <-time.After(200 * time.Millisecond):
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	select {
	case u := <-updates:
		t.Errorf("update after cancel: %+v", u)
	default:
	}
}

func TestRunStopsWhileBlockedOnSend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, webYAML)
	for _, watch := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- New(nopLogger(), Options{Filename: path, Watch: watch}).Run(ctx, make(chan providers.Update))
		}()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch=%v: Run = %v", watch, err)
			}
		case <-time.After(deadline):
			t.Fatalf("watch=%v: Run blocked on send after cancel", watch)
		}
	}
}

func TestRunBadOptions(t *testing.T) {
	err := New(nopLogger(), Options{Watch: true}).Run(context.Background(), make(chan providers.Update))
	if err == nil || !strings.HasPrefix(err.Error(), "file: ") {
		t.Errorf("Run = %v", err)
	}
	if name := New(nopLogger(), Options{}).Name(); name != "file" {
		t.Errorf("Name = %q", name)
	}
}
