package decode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// BenchmarkYAML parses and decodes a file of 1,000 routers and services.
func BenchmarkYAML(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("http:\n  routers:\n")
	for i := range 1000 {
		fmt.Fprintf(&sb, "    r%d:\n      rule: Host(`h%d.example.com`)\n      service: s%d\n      entryPoints: [web]\n", i, i, i)
	}
	sb.WriteString("  services:\n")
	for i := range 1000 {
		fmt.Fprintf(&sb, "    s%d:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:%d\n", i, 10000+i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := ParseYAML(data)
		if err != nil {
			b.Fatal(err)
		}
		var c config.Config
		if errs := Decode(n, &c); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkLabels parses and decodes one container's labels.
func BenchmarkLabels(b *testing.B) {
	labels := map[string]string{
		"traefik.enable":                                              "true",
		"ferry.http.routers.web.rule":                                 "Host(`example.com`)",
		"ferry.http.routers.web.entrypoints":                          "websecure",
		"ferry.http.routers.web.tls.certresolver":                     "le",
		"ferry.http.routers.web.middlewares":                          "auth,gzip",
		"ferry.http.services.web.loadbalancer.servers[0].url":         "http://127.0.0.1:8080",
		"ferry.http.middlewares.auth.basicauth.users":                 "u:h",
		"ferry.http.middlewares.gzip.compress":                        "true",
		"ferry.http.middlewares.hdr.headers.customrequestheaders.X-A": "b",
	}
	b.ReportAllocs()
	for b.Loop() {
		n, err := ParsePaths(labels, "ferry", '.')
		if err != nil {
			b.Fatal(err)
		}
		var c config.Config
		if errs := Decode(n, &c); errs != nil {
			b.Fatal(errs)
		}
	}
}
