package rule

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// fuzzHTTP checks what must hold for any rule text in a syntax: an error
// is a *ParseError inside the text; a compiled rule prints to a text that
// compiles to the same tree and String; Match, Explain and the host index
// agree on a request made of the fuzzer's host and path.
func fuzzHTTP(t *testing.T, syntax Syntax, expr, host, path string) {
	r, err := CompileSyntax(expr, syntax)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("CompileSyntax(%q, %s) error %T, want *ParseError", expr, syntax, err)
		}
		if pe.Pos < 0 || pe.Pos > len(expr) {
			t.Fatalf("CompileSyntax(%q, %s) error position %d outside the rule", expr, syntax, pe.Pos)
		}
		return
	}
	s := r.String()
	r2, err := CompileSyntax(s, syntax)
	if err != nil {
		t.Fatalf("CompileSyntax(%q, %s) ok, but its String %q does not compile: %v", expr, syntax, s, err)
	}
	if s2 := r2.String(); s2 != s {
		t.Fatalf("String not stable: %q -> %q -> %q", expr, s, s2)
	}
	table, _ := httpTable(syntax)
	if a, b := canonicalTree(t, expr, table), canonicalTree(t, s, table); a != b {
		t.Fatalf("String %q parses to %s, want %s", s, b, a)
	}
	u := &url.URL{Path: path}
	req := &Request{HTTP: &http.Request{Method: http.MethodGet, Host: host, URL: u, Header: http.Header{}, RemoteAddr: "192.0.2.1:1"}}
	matched := r.Match(req)
	if r2.Match(req) != matched {
		t.Fatalf("%q and its String %q disagree on host %q path %q", expr, s, host, path)
	}
	if tr := r.Explain(req); tr.Matched != matched {
		t.Fatalf("%q: Explain says %v, Match %v on host %q path %q", expr, tr.Matched, matched, host, path)
	}
	if hosts := r.Hosts(); hosts != nil && matched {
		h := NormalizeHost(host)
		if !slices.ContainsFunc(hosts, func(p string) bool { return MatchHost(p, h) }) {
			t.Fatalf("%q matched host %q outside its hosts %v", expr, h, hosts)
		}
	}
	r.Domains()
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"Host(`example.com`)",
		"Host(`a.com`) || host(`b.com`) && PathPrefix(`/api`)",
		"(Host(`a`) || Host(`b`)) && !Method(`GET`)",
		"Host(`*.example.com`) && !Host(`www.example.com`)",
		"Host(`*`) || Host(`*.a.b`)",
		"!!Path(`/x`) || Header(`X-A`, \"a`b\")",
		`HostRegexp("^[a-z]+\\.example\\.com$") && PathRegexp("^/v[0-9]+/")`,
		"Query(`a`) && Query(`c`, `d`) && QueryRegexp(`e`, `^f`) && QUERYREGEXP(`g`)",
		"ClientIP(`10.0.0.0/8`) || ClientIP(`::ffff:10.0.0.0/104`)",
		"HeaderRegexp(`User-Agent`, `(?i)curl`) || Header(`X`, `y`)",
		"Host(`[::1]`) && Path(\"/a\\tb\\u00e9\")",
		"Path(`/a%2Fb`) || PathPrefix(`/caf%c3%a9`)",
		"((((Path(`/`)))))",
		"Host(`a`) & Path(`/`)",
		"Hots(`a`)",
		"Host(`a`,)",
		"Host(`a`, `b`)",
		`Path("\q")`,
		"",
		"!",
		"Host(`a:80`)",
	} {
		f.Add(s, "a.example.com", "/api/x")
	}
	f.Fuzz(func(t *testing.T, expr, host, path string) { fuzzHTTP(t, SyntaxV3, expr, host, path) })
}

func FuzzCompileV2(f *testing.F) {
	for _, s := range []string{
		"Host(`a.com`, `b.com`) && PathPrefix(`/api`, `/v2`)",
		"HostHeader(`a`) || HostRegexp(`{sub:[a-z]+}.example.com`, `example.com`)",
		"Path(`/users/{id:[0-9]+}`) && Method(`GET`, `HEAD`)",
		"PathPrefix(`/{v}/`) || Path(`/a/{x:[a-z]{2}}/b`)",
		"Headers(`X-A`, `1`, `X-B`, ``) && HeadersRegexp(`X-C`, `^c`)",
		"Query(`a=1`, `b=`, `c={c:[0-9]+}`)",
		"ClientIP(`10.0.0.0/8`, `::1`) && !Host(`x`)",
		"HostRegexp(`{a}.{b}.com`)",
		"Path(`/a/{`)",
		"Query(`a`)",
		"Header(`X`, `y`)",
	} {
		f.Add(s, "api.example.com", "/users/42")
	}
	f.Fuzz(func(t *testing.T, expr, host, path string) { fuzzHTTP(t, SyntaxV2, expr, host, path) })
}
