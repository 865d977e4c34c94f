package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchYAML renders routers [lo, hi), each with a service of its own;
// router lo's host has the prefix tag, and extra routers (with services)
// follow the others.
func benchYAML(lo, hi int, tag string, extra int) string {
	var b strings.Builder
	b.WriteString("http:\n  routers:\n")
	name := func(i int) string {
		if i >= hi {
			return fmt.Sprintf("x%d-%d", lo, i)
		}
		return fmt.Sprintf("r%d", i)
	}
	for i := lo; i < hi+extra; i++ {
		host := name(i) + ".example.com"
		if i == lo {
			host = tag + host
		}
		fmt.Fprintf(&b, "    %s:\n      rule: \"Host(`%s`)\"\n      service: %s\n", name(i), host, name(i))
	}
	b.WriteString("  services:\n")
	for i := lo; i < hi+extra; i++ {
		fmt.Fprintf(&b, "    %s:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:%d\"\n", name(i), 10000+i)
	}
	return b.String()
}

// BenchmarkLoad measures re-reading 10,000 routers and services, in one
// file and in a directory of 100 files, after one router's rule changed
// ("one-change") or one router and its service were added ("add-one"),
// in the first file.
func BenchmarkLoad(b *testing.B) {
	const n = 10000
	for _, files := range []int{1, 100} {
		for _, change := range []string{"one-change", "add-one"} {
			b.Run(fmt.Sprintf("files=%d/%s", files, change), func(b *testing.B) {
				dir := b.TempDir()
				per := n / files
				path := func(k int) string { return filepath.Join(dir, fmt.Sprintf("part-%03d.yaml", k)) }
				for k := range files {
					if err := os.WriteFile(path(k), []byte(benchYAML(k*per, (k+1)*per, "", 0)), 0o644); err != nil {
						b.Fatal(err)
					}
				}
				opts := Options{Directory: dir}
				l := newLoader(nopLogger())
				if _, err := l.load(opts); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					content := benchYAML(0, per, fmt.Sprintf("v%d.", i), 0)
					want := n
					if change == "add-one" {
						content, want = benchYAML(0, per, "", 1+i%2), n+1+i%2
					}
					if err := os.WriteFile(path(0), []byte(content), 0o644); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					res, err := l.load(opts)
					if err != nil || len(res.Config.HTTP.Routers) != want {
						b.Fatalf("%v, %d routers", err, len(res.Config.HTTP.Routers))
					}
				}
			})
		}
	}
}
