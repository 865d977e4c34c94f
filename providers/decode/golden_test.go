package decode

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden is what a testdata file decodes to.
type golden struct {
	Errors []string       `json:"errors"`
	Config *config.Config `json:"config"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			n, err := ParseYAML(data)
			if err != nil {
				t.Fatal(err)
			}
			g := golden{Errors: []string{}, Config: &config.Config{}}
			for _, e := range Decode(n, g.Config) {
				g.Errors = append(g.Errors, e.Error())
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(g); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update after checking):\n%s", file, path, got)
			}
		})
	}
}
