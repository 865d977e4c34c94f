package consul

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/providers/labels"
	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// catalogCase is one testdata/*.json file: options and the instances that
// the health watches returned, by service.
type catalogCase struct {
	Options   CatalogOptions        `json:"options"`
	Instances map[string][]instance `json:"instances"`
}

type catalogGolden struct {
	Problems []string          `json:"problems"`
	Origins  map[string]string `json:"origins"`
	Config   *config.Config    `json:"config"`
}

// buildCase runs the catalog build as Run does.
func buildCase(t *testing.T, c catalogCase) *labels.Merged {
	t.Helper()
	set, err := newSettings(NewCatalog(nil, c.Options).opts)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]labels.Part{}
	for name, insts := range c.Instances {
		for i := range insts {
			insts[i].Service = name
		}
		parts[name] = serviceParts(insts, set)
	}
	return mergeParts(parts)
}

// TestCatalogGolden builds each testdata/*.json case and compares the
// configuration and problems with its .golden file.
func TestCatalogGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c catalogCase
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			m := buildCase(t, c)
			g := catalogGolden{Problems: []string{}, Origins: map[string]string{}, Config: m.Config}
			for _, p := range m.Problems {
				g.Problems = append(g.Problems, p.Error())
			}
			for id, o := range m.Origins {
				g.Origins[string(id.Kind)+" "+id.Name] = o
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(g); err != nil {
				t.Fatal(err)
			}
			path := strings.TrimSuffix(file, ".json") + ".golden"
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

// TestHealthySelection checks which instances serve, by check status and
// strictChecks.
func TestHealthySelection(t *testing.T) {
	insts := func() []instance {
		var out []instance
		for i, st := range []string{"passing", "warning", "critical", "maintenance"} {
			out = append(out, instance{Service: "web", ID: st, Node: "n", Address: "10.0.0." + string(rune('1'+i)), Port: 80,
				Tags: []string{"ferry.enable=true"}, Status: st})
		}
		return out
	}
	tests := []struct {
		strict []string
		want   []string
	}{
		{nil, []string{"http://10.0.0.1:80", "http://10.0.0.2:80"}},
		{[]string{"passing"}, []string{"http://10.0.0.1:80"}},
		{[]string{"passing", "warning", "critical"}, []string{"http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.strict, ","), func(t *testing.T) {
			m := buildCase(t, catalogCase{Options: CatalogOptions{StrictChecks: tt.strict}, Instances: map[string][]instance{"web": insts()}})
			svc := m.Config.HTTP.Services["web"]
			var got []string
			if svc != nil {
				for _, s := range svc.LoadBalancer.Servers {
					got = append(got, s.URL)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("servers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts CatalogOptions
		want string
	}{
		{"strict", CatalogOptions{StrictChecks: []string{"ok"}}, `strictChecks: "ok"`},
		{"constraints", CatalogOptions{Constraints: "Tag(`a`"}, "constraints"},
		{"unknown function", CatalogOptions{Constraints: "Label(`a`, `b`)"}, "constraints"},
		{"default rule", CatalogOptions{DefaultRule: "Host(`{{ .Name `)"}, "defaultRule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newSettings(NewCatalog(nil, tt.opts).opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTagLabels(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		meta map[string]string
		want map[string]string
	}{
		{"tags", []string{"ferry.enable=true", "plain", "ferry.http.routers.r.rule=Host(`a`) || Query(`x=1`)", "=novalue"}, nil,
			map[string]string{"ferry.enable": "true", "ferry.http.routers.r.rule": "Host(`a`) || Query(`x=1`)"}},
		{"meta under the prefix", nil, map[string]string{"ferry_enable": "true", "ferry_http_routers_r_rule": "Host(`m`)", "owner": "team_a"},
			map[string]string{"ferry.enable": "true", "ferry.http.routers.r.rule": "Host(`m`)", "owner": "team_a"}},
		{"a tag wins", []string{"ferry.enable=true"}, map[string]string{"ferry_enable": "false", "ferryx_y": "1"},
			map[string]string{"ferry.enable": "true", "ferryx_y": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tagLabels(tt.tags, tt.meta, "ferry")
			if len(got) != len(tt.want) {
				t.Fatalf("labels %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("label %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// BenchmarkCatalogUpdate is the work of one health change with 1,000
// services of two instances each: rebuild the changed service, merge all.
func BenchmarkCatalogUpdate(b *testing.B) {
	set, err := newSettings(NewCatalog(nil, CatalogOptions{}).opts)
	if err != nil {
		b.Fatal(err)
	}
	insts := func(name string) []instance {
		tags := []string{"ferry.enable=true", "ferry.http.routers." + name + ".rule=Host(`" + name + ".test`)"}
		return []instance{
			{Service: name, ID: name + "-1", Node: "n1", Address: "10.0.0.1", Port: 8080, Tags: tags, Status: "passing"},
			{Service: name, ID: name + "-2", Node: "n2", Address: "10.0.0.2", Port: 8080, Tags: tags, Status: "passing"},
		}
	}
	parts := map[string][]labels.Part{}
	for i := range 1000 {
		name := "svc" + strconv.Itoa(i)
		parts[name] = serviceParts(insts(name), set)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := "svc" + strconv.Itoa(i%1000)
		parts[name] = serviceParts(insts(name), set)
		if m := mergeParts(parts); len(m.Config.HTTP.Routers) != 1000 {
			b.Fatalf("%d routers", len(m.Config.HTTP.Routers))
		}
	}
}
