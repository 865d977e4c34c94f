package kvtree

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden is what a testdata file builds to.
type golden struct {
	Problems []string          `json:"problems"`
	Origins  map[string]string `json:"origins"`
	Config   *config.Config    `json:"config"`
}

// readKeys reads a .keys file: one "key value" per line (the value is
// everything after the first space); blank lines and # comments are skipped.
func readKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		kv[k] = v
	}
	return kv
}

// TestGolden decodes each testdata/*.keys file under the root key "ferry"
// and compares the configuration and problems with its .golden file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.keys")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			res := Build(readKeys(t, file), "ferry", "etcd")
			g := golden{Problems: []string{}, Origins: map[string]string{}, Config: res.Config}
			for _, p := range res.Problems {
				g.Problems = append(g.Problems, p.Error())
			}
			for id, o := range res.Origins {
				g.Origins[string(id.Kind)+" "+id.Name] = o
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(g); err != nil {
				t.Fatal(err)
			}
			path := strings.TrimSuffix(file, ".keys") + ".golden"
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update after checking):\n%s", file, path, buf.Bytes())
			}
		})
	}
}

// TestProblemNamesKeyAndValue checks what a user reads in the API: the
// offending key, its value, and only the object it belongs to disabled.
func TestProblemNamesKeyAndValue(t *testing.T) {
	kv := map[string]string{
		"ferry/http/routers/bad/rule":                        "Host(`bad.test`)",
		"ferry/http/routers/bad/priority":                    "high",
		"ferry/http/routers/good/rule":                       "Host(`good.test`)",
		"ferry/http/routers/good/service":                    "web",
		"ferry/http/services/web/loadbalancer/servers/0/url": "http://127.0.0.1:8080",
		"other/http/routers/ignored/rule":                    "Host(`x`)",
	}
	res := Build(kv, "/ferry/", "etcd")
	if len(res.Problems) != 1 {
		t.Fatalf("want 1 problem, got %v", res.Problems)
	}
	p := res.Problems[0]
	if p.Kind != config.KindRouter || p.Name != "bad" {
		t.Errorf("problem is about %s %s, want router bad", p.Kind, p.Name)
	}
	for _, want := range []string{`"ferry/http/routers/bad/priority"`, `"high"`} {
		if !strings.Contains(p.Message, want) {
			t.Errorf("problem %q does not name %s", p.Message, want)
		}
	}
	if r := res.Config.HTTP.Routers["good"]; r == nil || r.Service != "web" {
		t.Errorf("router good = %+v, want it kept with service web", r)
	}
	if _, ok := res.Config.HTTP.Routers["ignored"]; ok {
		t.Error("a key outside the root key was read")
	}
}

func TestJoinKey(t *testing.T) {
	tests := []struct {
		root string
		keys []string
		want string
	}{
		{"ferry", []string{"http", "services", "web", "loadBalancer", "servers", "[0]", "url"}, "ferry/http/services/web/loadBalancer/servers/0/url"},
		{"", []string{"http", "routers"}, "http/routers"},
		{"a/b", nil, "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := JoinKey(tt.root, '/', tt.keys); got != tt.want {
				t.Errorf("JoinKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != b.Min {
		t.Errorf("after Reset: %v, want %v", d, b.Min)
	}
}

// TestHealthLogsStateChanges checks that an outage is one warning and one
// recovery line, however many attempts fail in between.
func TestHealthLogsStateChanges(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := Health{Log: zap.New(core), What: "etcd"}
	h.OK()
	for range 5 {
		h.Fail(errors.New("connection refused"), time.Second)
	}
	h.OK()
	h.OK()
	h.Fail(errors.New("connection refused"), 0)
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	want := []string{
		"etcd unreachable; the last configuration keeps serving",
		"etcd reachable again",
		"etcd unreachable; the last configuration keeps serving",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("logged %q, want %q", got, want)
	}
}
