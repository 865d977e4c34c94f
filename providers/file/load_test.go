package file

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

const webYAML = `http:
  routers:
    web:
      rule: Host(` + "`example.com`" + `)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:8080
`

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func router(id string) config.ObjectID  { return config.ObjectID{Kind: config.KindRouter, Name: id} }
func service(id string) config.ObjectID { return config.ObjectID{Kind: config.KindService, Name: id} }

func TestLoadSingleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, webYAML)
	res, err := Load(Options{Filename: path})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Config.HTTP.Routers["web"]; r == nil || r.Service != "app" {
		t.Fatalf("router = %+v", r)
	}
	if len(res.Problems) != 0 {
		t.Errorf("problems = %v", res.Problems)
	}
	want := map[config.ObjectID]string{router("web"): path + ":3", service("app"): path + ":7"}
	if !reflect.DeepEqual(res.Origins, want) {
		t.Errorf("origins = %v, want %v", res.Origins, want)
	}
	if !reflect.DeepEqual(res.Files, []string{path}) {
		t.Errorf("files = %v", res.Files)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.YML"), filepath.Join(dir, "c.toml")
	write(t, a, webYAML)
	write(t, b, "http:\n  routers:\n    other:\n      rule: Path(`/`)\n      service: app\n    web:\n      rule: Host(`dup.example.com`)\n      rulee: x\n")
	write(t, c, "[http.middlewares.strip.stripPrefix]\nprefixes = [\"/api\"]\n")
	// Not read: hidden, editor, other extensions, directories.
	for _, name := range []string{".hidden.yaml", ".dyn.yaml.swp", "dyn.yaml~", "#dyn.yaml#", "notes.txt", "sub.yaml/x.yaml"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, p, "http: {routers: {hidden: {rule: x}}}")
	}
	res, err := Load(Options{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Files, []string{a, b, c}) {
		t.Errorf("files = %v", res.Files)
	}
	routers := res.Config.HTTP.Routers
	if len(routers) != 2 || routers["web"].Rule != "Host(`example.com`)" || routers["other"] == nil {
		t.Errorf("routers = %v", routers)
	}
	if res.Config.HTTP.Middlewares["strip"] == nil {
		t.Error("TOML middleware missing")
	}
	want := []config.Problem{{
		Kind: config.KindRouter, Name: "web",
		Message: "defined in both " + a + ":3 and " + b + ":6; the first is used",
	}}
	if !reflect.DeepEqual(res.Problems, want) {
		t.Errorf("problems =\n %v\nwant\n %v", res.Problems, want)
	}
	if res.Origins[router("web")] != a+":3" || res.Origins[router("other")] != b+":3" {
		t.Errorf("origins = %v", res.Origins)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.yaml"), filepath.Join(dir, "good.yaml")
	write(t, bad, "http:\n  routers:\n    x: [\n")
	write(t, good, webYAML)
	res, err := Load(Options{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 {
		t.Fatalf("problems = %v", res.Problems)
	}
	p := res.Problems[0]
	if p.Kind != config.KindSource || p.Name != bad || !strings.HasPrefix(p.Message, "line 3: ") {
		t.Errorf("problem = %+v", p)
	}
	if res.Config.HTTP.Routers["web"] == nil || len(res.Config.HTTP.Routers) != 1 {
		t.Errorf("routers = %v", res.Config.HTTP.Routers)
	}
}

func TestLoadDecodeProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, `htp:
  routers: {}
http:
  routers:
    web:
      rulee: Host(`+"`a`"+`)
      service: app
    good:
      rule: Host(`+"`b`"+`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
            weight: heavy
  middlewares:
    m:
      bogus: {}
`)
	res, err := Load(Options{Filename: path})
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Problem{
		{Kind: config.KindMiddleware, Name: "m", Field: "bogus", Message: path + ":19: unknown key"},
		{Kind: config.KindRouter, Name: "web", Field: "rulee", Message: path + ":6: unknown key"},
		{Kind: config.KindService, Name: "app", Field: "loadBalancer.servers[0].weight", Message: path + `:16: invalid integer "heavy"`},
		{Kind: config.KindSource, Name: path, Field: "htp", Message: "line 1: unknown key"},
	}
	if !reflect.DeepEqual(res.Problems, want) {
		t.Errorf("problems:\n got  %v\n want %v", res.Problems, want)
	}
	// The objects stay, so the router disables exactly them.
	for _, name := range []string{"web", "good"} {
		if res.Config.HTTP.Routers[name] == nil {
			t.Errorf("router %s missing", name)
		}
	}
	if res.Config.HTTP.Routers["good"].Rule != "Host(`b`)" || res.Config.HTTP.Middlewares["m"] == nil {
		t.Errorf("config = %+v", res.Config.HTTP)
	}
}

func TestLoadTOML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.toml")
	write(t, path, `[http.routers.web]
rule = "Host(`+"`example.com`"+`)"
service = "app"
entryPoints = ["websecure"]
[http.routers.web.tls]
certResolver = "le"

[[http.services.app.loadBalancer.servers]]
url = "http://127.0.0.1:8080"
[[http.services.app.loadBalancer.servers]]
url = "http://127.0.0.1:8081"
`)
	res, err := Load(Options{Filename: path})
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Router{Rule: "Host(`example.com`)", Service: "app", EntryPoints: []string{"websecure"}, TLS: &config.RouterTLS{CertResolver: "le"}}
	if got := res.Config.HTTP.Routers["web"]; !reflect.DeepEqual(got, want) {
		t.Errorf("router = %+v", got)
	}
	if n := len(res.Config.HTTP.Services["app"].LoadBalancer.Servers); n != 2 {
		t.Errorf("%d servers", n)
	}
	if res.Origins[router("web")] != path+":1" || res.Origins[service("app")] != path+":8" {
		t.Errorf("origins = %v", res.Origins)
	}
	if len(res.Problems) != 0 {
		t.Errorf("problems = %v", res.Problems)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"nothing configured", Options{}, "file: no filename or directory configured"},
		{"both configured", Options{Filename: "a", Directory: dir}, "file: set a filename or a directory, not both"},
		{"missing file", Options{Filename: filepath.Join(dir, "nope.yaml")}, "file: read " + filepath.Join(dir, "nope.yaml")},
		{"missing directory", Options{Directory: filepath.Join(dir, "nope")}, "file: read directory " + filepath.Join(dir, "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestLoaderKeepsLastGood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	l := newLoader(nopLogger())
	write(t, path, webYAML)
	if _, err := l.load(Options{Filename: path}); err != nil {
		t.Fatal(err)
	}
	write(t, path, "http: [\n")
	res, err := l.load(Options{Filename: path})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.HTTP.Routers["web"] == nil {
		t.Error("previous content not kept")
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != config.KindSource {
		t.Errorf("problems = %v", res.Problems)
	}
	// A fresh Load has no previous content.
	res, err = Load(Options{Filename: path})
	if err != nil || res.Config.HTTP.Routers != nil {
		t.Errorf("fresh load: %v, %v", res.Config.HTTP.Routers, err)
	}
}

// TestLoadParallelMatchesSequential: a directory whose files are parsed on
// several goroutines loads to the same result as one parsed file by file,
// through a first load, edits to many files at once (spliced and not, one
// broken) and a fix.
func TestLoadParallelMatchesSequential(t *testing.T) {
	dir := t.TempDir()
	file := func(k int, rule, extra string) {
		var b strings.Builder
		b.WriteString("http:\n  routers:\n")
		for i := range 10 {
			fmt.Fprintf(&b, "    r%d-%d:\n      rule: %s\n      service: s%d\n", k, i, fmt.Sprintf(rule, k, i), k)
		}
		fmt.Fprintf(&b, "  services:\n    s%d:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:%d\n%s", k, 8000+k, extra)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%02d.yaml", k)), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 24 {
		file(k, "Host(`h%d-%d.test`)", "")
	}
	parallel, sequential := newLoader(zap.NewNop()), newLoader(zap.NewNop())
	parallel.workers, sequential.workers = 4, 1
	opts := Options{Directory: dir}
	step := func(name string) {
		t.Helper()
		got, err1 := parallel.load(opts)
		want, err2 := sequential.load(opts)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v, %v", name, err1, err2)
		}
		if !reflect.DeepEqual(got.Config, want.Config) || !reflect.DeepEqual(got.Problems, want.Problems) ||
			!reflect.DeepEqual(got.Origins, want.Origins) || !reflect.DeepEqual(got.Files, want.Files) {
			t.Fatalf("%s: parallel load differs from sequential:\n%+v\n%+v", name, got.Problems, want.Problems)
		}
	}
	step("first load")
	for k := 0; k < 24; k += 2 {
		file(k, "Host(`edited%d-%d.test`)", "") // spliced
	}
	file(3, "Host(`h%d-%d.test`)", "  middlewares:\n    m3:\n      stripPrefix:\n        prefixes: [/a]\n") // parsed whole
	if err := os.WriteFile(filepath.Join(dir, "part-05.yaml"), []byte("http:\n  routers: [broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("many edits and a broken file")
	file(5, "Host(`h%d-%d.test`)", "")
	step("fixed")
}
