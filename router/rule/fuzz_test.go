package rule

import "testing"

func FuzzCompile(f *testing.F) {
	seeds := []string{
		"Host(`example.com`)",
		"Host(`a.com`, `b.com`) && PathPrefix(`/api`)",
		"(Host(`a`) || Host(`b`)) && !Method(`GET`, `HEAD`)",
		"!!Path(`/x`) || Header(`X-A`, \"a`b\")",
		`HostRegexp("^[a-z]+\\.example\\.com$") && PathRegexp("^/v[0-9]+/")`,
		"Query(`a=1`) && Query(`b`) && Query(`c`, `d`) && QueryRegexp(`e`, `^f`)",
		"ClientIP(`10.0.0.0/8`, `::ffff:10.0.0.0/104`, `2001:db8::/32`, `::1`)",
		"HeaderRegexp(`User-Agent`, `(?i)curl`) || Headers(`X`, `y`) || HeadersRegexp(`X`, `y`)",
		"HostHeader(`[::1]`) && Path(\"/a\\tb\\u00e9\")",
		"((((Path(`/`)))))",
		"Host(`a`) & Path(`/`)",
		"Hots(`a`)",
		"Host(`a`,)",
		`Path("\q")`,
		"",
		"!",
		"Host(`a:80`)",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		r, err := Compile(expr)
		if err != nil {
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("Compile(%q) error %T, want *ParseError", expr, err)
			}
			if pe.Pos < 0 || pe.Pos > len(expr) {
				t.Fatalf("Compile(%q) error position %d outside the rule", expr, pe.Pos)
			}
			return
		}
		s := r.String()
		r2, err := Compile(s)
		if err != nil {
			t.Fatalf("Compile(%q) ok, but its String %q does not compile: %v", expr, s, err)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("String not stable: %q -> %q -> %q", expr, s, s2)
		}
		n1, _ := parse(expr)
		n2, _ := parse(s)
		if a, b := sexpr(n1), sexpr(n2); a != b {
			t.Fatalf("String %q parses to %s, want %s", s, b, a)
		}
		r.Hosts()
		r.Domains()
	})
}
