package decode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// FuzzParseYAMLDecode checks that no document makes ParseYAML or Decode
// panic, and that every error has a message.
func FuzzParseYAMLDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "~", "- a", "a: &a [*a]", "http: {routers: {a: {tls: true}}}",
		"http:\n  services:\n    s:\n      loadBalancer:\n        servers: {1: {url: x}, 0: {weight: 2}}\n",
		"http: {middlewares: {m: {headers: {customRequestHeaders: [a]}}}}",
		"<<: {a: 1}", "a: {<<: [*b]}", "? a\n: b", "a: !!binary aGVsbG8=",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseYAML(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		var c config.Config
		for _, e := range Decode(n, &c) {
			if e.Msg == "" {
				t.Fatalf("error without message at %q", e.Path)
			}
		}
		// The result must be safe for the rest of the pipeline.
		for name, r := range c.HTTP.Routers {
			if r == nil {
				t.Fatalf("nil router %q", name)
			}
		}
		_ = config.Validate(c.Qualified("file"))
	})
}

// FuzzParsePaths checks that no set of keys makes ParsePaths or Decode
// panic. Each line of the input is one key=value.
func FuzzParsePaths(f *testing.F) {
	f.Add("ferry.http.routers.web.rule=Host(`a`)\nferry.http.routers.web.tls=true\nferry.http.routers.web.tls.certresolver=le", byte('.'))
	f.Add("ferry/http/services/s/loadbalancer/servers/0/url=http://a\nferry/http/services/s/loadbalancer/servers/1/url=http://b", byte('/'))
	f.Add("ferry.a[0][1]=x\nferry.a.0=y\nferry..=z\nferry.b[=1", byte('.'))
	f.Fuzz(func(t *testing.T, s string, sep byte) {
		kv := map[string]string{}
		for _, line := range strings.Split(s, "\n") {
			k, v, _ := strings.Cut(line, "=")
			kv[k] = v
		}
		n, _ := ParsePaths(kv, "ferry", sep)
		if n == nil || n.Kind != Map {
			t.Fatal("no tree")
		}
		var c config.Config
		Decode(n, &c)
		_ = config.Validate(c.Qualified("docker"))
	})
}

// FuzzParseTOML checks that no document makes ParseTOML (and its line
// scanner) or Decode panic.
func FuzzParseTOML(f *testing.F) {
	for _, s := range []string{
		"", "a = 1", "[http.routers.web]\nrule = \"r\"\n", "[[a.b]]\nx = 1\n[a.b.c]\ny = '''\n[z]\n'''\n",
		"a = [\n [1], { b = \"]\" },\n]\n", "\"q.k\".'l' = \"\"\"x\\\n\"\"\"\"\"", "[a]\n[[a.b]]\n[[a.b]]\n[a.b.c]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = tomlLines(data) // also on documents that do not parse
		n, err := ParseTOML(data)
		if err != nil {
			return
		}
		var c config.Config
		Decode(n, &c)
	})
}
