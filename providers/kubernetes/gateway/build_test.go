package gateway

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestBuild translates each testdata/*.yaml fixture and compares the
// configuration, problems, origins and statuses with its golden file.
func TestBuild(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			s := loadSnapshot(t, f)
			res := build(s, testOptions())
			// The build must be deterministic.
			again := build(s, testOptions())
			if a, b := jsonOf(t, res.Config, res.Problems, res.Status), jsonOf(t, again.Config, again.Problems, again.Status); a != b {
				t.Fatal("two builds of the same snapshot differ")
			}
			origins := map[string]string{}
			for id, o := range res.Origins {
				origins[string(id.Kind)+" "+id.Name] = o
			}
			for _, p := range config.Validate(res.Config) {
				if !strings.Contains(p.Message, "@file") { // a reference to another provider
					t.Errorf("the configuration does not validate: %v", p)
				}
			}
			golden(t, "build_"+name, struct {
				Config   *config.Config    `json:"config"`
				Problems []config.Problem  `json:"problems"`
				Origins  map[string]string `json:"origins"`
				Status   Status            `json:"status"`
				Secrets  []string          `json:"secrets"`
			}{res.Config, res.Problems, origins, res.Status, res.Secrets})
		})
	}
}

// TestRouterOrder checks that the routers of the precedence fixture sort,
// by Ferry's priority, in the order the Gateway API prescribes.
func TestRouterOrder(t *testing.T) {
	res := build(loadSnapshot(t, filepath.Join("testdata", "precedence.yaml")), testOptions())
	var names []string
	for n := range res.Config.HTTP.Routers {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := res.Config.HTTP.Routers[names[i]], res.Config.HTTP.Routers[names[j]]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return names[i] < names[j]
	})
	want := []string{
		"httproute-default.exact-host-r0-m0-web",        // exact host beats every wildcard
		"httproute-default.long-wildcard-r0-m0-web-w0",  // longer wildcard
		"httproute-default.wildcard-exact-r0-m0-web-w0", // exact path
		"httproute-default.wildcard-prefix-r0-m0-web-w0",
		"httproute-default.old-r0-m2-web",     // exact path
		"httproute-default.old-r0-m1-web",     // regexp path
		"httproute-default.old-r1-m0-web",     // longer prefix
		"httproute-default.old-r0-m0-web",     // method
		"httproute-default.headers-r0-m0-web", // same path, two headers
		"httproute-default.z-old-r0-m0-web",   // one header, query: the older route...
		"httproute-default.a-young-r0-m0-web", // ... before the younger
		"httproute-default.a-young-r1-m0-web", // one header
		"httproute-default.catchall-r0-m0-web",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("router order:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func jsonOf(t *testing.T, v ...any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
