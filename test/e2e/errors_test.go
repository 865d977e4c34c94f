package e2e

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// isolationConfig has one good router and two broken ones: an invalid rule
// and a missing service.
func isolationConfig(a *Backend) string {
	return dyn(`
http:
  routers:
    good:
      rule: "Host('good.test')"
      service: svc
    badrule:
      rule: "Host('bad.test') && Bogus('x')"
      service: svc
    missing:
      rule: "Host('missing.test')"
      service: svc-missing
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL)
}

// brokenConfig does not parse; if it did, good.test would go to b.
func brokenConfig(b *Backend) string {
	return dyn(`
http:
  routers:
    good:
      rule: "Host('good.test')"
      service: svc
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
    other: [unclosed
      loadBalancer: {}
`, b.URL)
}

// yamlErrorLine returns the line yaml reports for a document that does not parse.
func yamlErrorLine(t *testing.T, doc string) string {
	t.Helper()
	var v any
	err := yaml.Unmarshal([]byte(doc), &v)
	if err == nil {
		t.Fatal("broken document parses")
	}
	m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("yaml error without a line: %v", err)
	}
	return m[1]
}

// mentionsLine reports whether s names path together with line (path:N or line N).
func mentionsLine(s, path, line string) bool {
	return strings.Contains(s, path) &&
		regexp.MustCompile(`(:|line )`+line+`\b`).MatchString(s)
}

func TestErrorIsolation(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	f := StartFerry(t, Options{Dynamic: isolationConfig(a)})
	f.WaitRoute("good.test", "/", http.StatusOK, "a")

	t.Run("bad routers are disabled alone", func(t *testing.T) {
		f := f.For(t)
		for _, tc := range []struct{ host string }{{"bad.test"}, {"missing.test"}} {
			if res := f.Get(tc.host, "/"); res.Status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404 (router disabled)", tc.host, res.Status)
			}
		}
		list, routers := f.Routers()
		if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Name < list[j].Name }) {
			t.Errorf("/api/http/routers not sorted by name: %v", keys(routers))
		}
		for _, tc := range []struct {
			name, status, mention string
		}{
			{"good@file", "enabled", ""},
			{"badrule@file", "disabled", "Bogus"},
			{"missing@file", "disabled", "svc-missing"},
		} {
			r, ok := routers[tc.name]
			if !ok {
				t.Errorf("/api/http/routers has no %s (has %v)", tc.name, keys(routers))
				continue
			}
			if r.Status != tc.status {
				t.Errorf("%s: status %q, want %q (errors %q)", tc.name, r.Status, tc.status, r.Error)
			}
			if r.Provider != "file" {
				t.Errorf("%s: provider %q, want file", tc.name, r.Provider)
			}
			if tc.mention != "" && !strings.Contains(strings.Join(r.Error, "\n"), tc.mention) {
				t.Errorf("%s: errors %q do not mention %q", tc.name, r.Error, tc.mention)
			}
		}
	})

	t.Run("problems in rawdata", func(t *testing.T) {
		f := f.For(t)
		var raw struct {
			Routers  map[string]any `json:"routers"`
			Problems []struct {
				Kind, Name, Field, Message, Origin string
			} `json:"problems"`
		}
		f.APIGet("/api/rawdata", &raw)
		for _, want := range []struct{ name, field string }{{"badrule@file", "rule"}, {"missing@file", "service"}} {
			found := false
			for _, p := range raw.Problems {
				if p.Kind == "router" && p.Name == want.name && p.Field == want.field {
					found = true
				}
			}
			if !found {
				t.Errorf("rawdata problems %+v lack router %s field %s", raw.Problems, want.name, want.field)
			}
		}
		if _, ok := raw.Routers["good@file"]; !ok {
			t.Errorf("rawdata routers lack good@file: %v", keys(raw.Routers))
		}
	})

	t.Run("bad routers are in the log", func(t *testing.T) {
		f := f.For(t)
		f.WaitLog(0, "naming badrule and Bogus", func(l string) bool { return containsAll(l, "badrule", "Bogus") })
		f.WaitLog(0, "naming missing and svc-missing", func(l string) bool { return containsAll(l, "missing@file", "svc-missing") })
	})

	t.Run("broken file keeps its previous routes", func(t *testing.T) {
		f := f.For(t)
		broken := brokenConfig(b)
		line := yamlErrorLine(t, broken)
		mark := f.LogMark()
		f.WriteDynamic(broken)
		got := f.WaitLog(mark, fmt.Sprintf("naming %s line %s", f.DynPath, line), func(l string) bool {
			return mentionsLine(l, f.DynPath, line)
		})
		t.Logf("log: %s", got)
		// Give the merger time to apply anything it would (debounce is 100ms).
		time.Sleep(300 * time.Millisecond)
		if res := f.Get("good.test", "/"); res.Status != http.StatusOK || res.Backend() != "a" {
			t.Fatalf("good.test after a broken edit: status %d from %q, want 200 from a", res.Status, res.Backend())
		}
	})

	t.Run("fixed file serves again", func(t *testing.T) {
		f := f.For(t)
		f.WriteDynamic(dyn(`
http:
  routers:
    good:
      rule: "Host('good.test')"
      service: svc
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, b.URL))
		f.WaitRoute("good.test", "/", http.StatusOK, "b")
		list, _ := f.Routers()
		if len(list) != 1 || list[0].Name != "good@file" || list[0].Status != "enabled" {
			t.Fatalf("routers after the fix: %+v, want only good@file enabled", list)
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	good := dyn(`
http:
  routers:
    good:
      rule: "Host('good.test')"
      service: svc
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL)
	broken := brokenConfig(a)
	tests := []struct {
		name     string
		dynamic  string
		wantCode int
		// wantLines each must appear together on one output line, with the dynamic file's path.
		wantLines [][]string
		wantLine  string // a line number of the dynamic file the output must name
	}{
		{name: "good config", dynamic: good, wantCode: 0},
		{
			name: "bad rule and missing service", dynamic: isolationConfig(a), wantCode: 1,
			wantLines: [][]string{{"http.routers.badrule.rule"}, {"http.routers.missing.service", "svc-missing"}},
		},
		{name: "broken yaml", dynamic: broken, wantCode: 1, wantLines: [][]string{{}}, wantLine: yamlErrorLine(t, broken)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFerryFiles(t, Options{Dynamic: tc.dynamic})
			out, code := runFerry(t, "check", "--config", f.StaticPath)
			if code != tc.wantCode {
				t.Fatalf("ferry check exit code %d, want %d; output:\n%s", code, tc.wantCode, out)
			}
			lines := strings.Split(out, "\n")
			for _, want := range tc.wantLines {
				want = append([]string{f.DynPath}, want...)
				found := false
				for _, l := range lines {
					if containsAll(l, want...) && (tc.wantLine == "" || mentionsLine(l, f.DynPath, tc.wantLine)) {
						found = true
					}
				}
				if !found {
					t.Errorf("no output line with %q (line %q); output:\n%s", want, tc.wantLine, out)
				}
			}
		})
	}
}

func TestStrictStaticConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		static  string
		keyPath string
	}{
		{"unknown top-level key", "entryPoints:\n  web:\n    address: %q\napii:\n  address: %q\n", "apii"},
		{"unknown nested key", "entryPoints:\n  web:\n    adress: %q\napi:\n  insecure: true\n  address: %q\n", "entryPoints.web.adress"},
		{"unknown key under log", "entryPoints:\n  web:\n    address: %q\napi:\n  insecure: true\n  address: %q\nlog:\n  levle: info\n", "log.levle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/ferry.yaml"
			if err := os.WriteFile(path, []byte(fmt.Sprintf(tc.static, freeAddr(t), freeAddr(t))), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"--config", path}, {"check", "--config", path}} {
				out, code := runFerry(t, args...)
				if code == 0 {
					t.Fatalf("ferry %v exited 0 on an unknown key; output:\n%s", args, out)
				}
				if !strings.Contains(out, tc.keyPath) {
					t.Errorf("ferry %v: output does not name %q:\n%s", args, tc.keyPath, out)
				}
			}
		})
	}
}
