package rule

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func compileV2(t *testing.T, rule string) *Rule {
	t.Helper()
	r, err := CompileSyntax(rule, SyntaxV2)
	if err != nil {
		t.Fatalf("CompileSyntax(%q, v2): %v", rule, err)
	}
	if r.Syntax() != SyntaxV2 {
		t.Fatalf("Syntax() = %q, want v2", r.Syntax())
	}
	return r
}

func TestMatchV2(t *testing.T) {
	tests := []struct {
		name string
		rule string
		req  *Request
		want bool
	}{
		// Host, HostHeader: any of several names.
		{"host several", "Host(`a.com`, `b.com`)", get("http://B.com:8080/"), true},
		{"host several miss", "Host(`a.com`, `b.com`)", get("http://c.com/"), false},
		{"host header alias", "HostHeader(`a.com`)", get("http://a.com/"), true},
		{"host many", "Host(`h0`, `h1`, `h2`, `h3`, `h4`, `h5`, `h6`, `h7`, `h8`, `h9`)", get("http://h9/"), true},
		{"host many miss", "Host(`h0`, `h1`, `h2`, `h3`, `h4`, `h5`, `h6`, `h7`, `h8`, `h9`)", get("http://h10/"), false},
		// HostRegexp: templates, anchored; {name} is one label.
		{"host template", "HostRegexp(`{sub:[a-z]+}.example.com`)", get("http://API.example.com:443/"), true},
		{"host template is anchored", "HostRegexp(`{sub:[a-z]+}.example.com`)", get("http://api.example.com.evil.test/"), false},
		{"host template dot is literal", "HostRegexp(`{sub:[a-z]+}.example.com`)", get("http://api.examplexcom/"), false},
		{"host template pattern", "HostRegexp(`{sub:[a-z]+}.example.com`)", get("http://a1.example.com/"), false},
		{"host bare variable is one label", "HostRegexp(`{sub}.example.com`)", get("http://a.b.example.com/"), false},
		{"host bare variable", "HostRegexp(`{sub}.example.com`)", get("http://a-1.example.com/"), true},
		{"host template several", "HostRegexp(`example.com`, `{sub:[a-z]+}.example.com`)", get("http://example.com/"), true},
		{"host template nested braces", "HostRegexp(`{sub:[a-z]{2}}.example.com`)", get("http://ab.example.com/"), true},
		{"host template nested braces miss", "HostRegexp(`{sub:[a-z]{2}}.example.com`)", get("http://abc.example.com/"), false},
		// Path and PathPrefix: templates, any of several.
		{"path several", "Path(`/a`, `/b`)", get("http://x/b"), true},
		{"path template", "Path(`/users/{id:[0-9]+}`)", get("http://x/users/42"), true},
		{"path template anchored", "Path(`/users/{id:[0-9]+}`)", get("http://x/users/42/x"), false},
		{"path bare variable is one segment", "Path(`/users/{id}`)", get("http://x/users/a/b"), false},
		{"path bare variable", "Path(`/users/{id}`)", get("http://x/users/a"), true},
		{"path literal dot", "Path(`/a.b/{x}`)", get("http://x/axb/y"), false},
		{"path prefix several", "PathPrefix(`/a`, `/b`)", get("http://x/bx"), true},
		{"path prefix template", "PathPrefix(`/{v:v[12]}/`)", get("http://x/v2/users"), true},
		{"path prefix template miss", "PathPrefix(`/{v:v[12]}/`)", get("http://x/v3/users"), false},
		{"path template as sent", "PathPrefix(`/files/{name}/`)", get("http://x/files/a%2Fb/"), true},
		{"path as sent: encoded slash", "PathPrefix(`/a/`)", get("http://x/a%2Fb"), false},
		// Method: any of several.
		{"method several", "Method(`POST`, `PUT`)", newReq("PUT", "http://x/"), true},
		{"method upper-cased", "Method(`get`)", get("http://x/"), true},
		{"method case-sensitive", "Method(`GET`)", newReq("get", "http://x/"), false},
		// Headers, HeadersRegexp: every pair.
		{"headers", "Headers(`X-Env`, `prod`)", get("http://x/", header("x-env", "prod")), true},
		{"headers miss", "Headers(`X-Env`, `prod`)", get("http://x/", header("X-Env", "dev")), false},
		{"headers pairs all", "Headers(`X-A`, `1`, `X-B`, `2`)", get("http://x/", header("X-A", "1"), header("X-B", "2")), true},
		{"headers pairs one missing", "Headers(`X-A`, `1`, `X-B`, `2`)", get("http://x/", header("X-A", "1")), false},
		{"headers empty value is presence", "Headers(`X-A`, ``)", get("http://x/", header("X-A", "anything")), true},
		{"headers regexp", "HeadersRegexp(`User-Agent`, `(?i)curl`)", get("http://x/", header("User-Agent", "curl/8")), true},
		{"headers regexp miss", "HeadersRegexp(`X-A`, `^[0-9]+$`, `X-B`, `b`)", get("http://x/", header("X-A", "12")), false},
		// Query: every key=value.
		{"query", "Query(`a=1`)", get("http://x/?a=1"), true},
		{"query miss", "Query(`a=1`)", get("http://x/?a=2"), false},
		{"query empty value is presence", "Query(`a=`)", get("http://x/?a=2"), true},
		{"query empty value absent", "Query(`a=`)", get("http://x/?b=2"), false},
		{"query all pairs", "Query(`a=1`, `b=2`)", get("http://x/?b=2&a=1"), true},
		{"query all pairs miss", "Query(`a=1`, `b=2`)", get("http://x/?a=1"), false},
		{"query template", "Query(`id={id:[0-9]+}`)", get("http://x/?id=42"), true},
		{"query template anchored", "Query(`id={id:[0-9]+}`)", get("http://x/?id=42x"), false},
		// ClientIP: any of several.
		{"client IP several", "ClientIP(`10.0.0.0/8`, `::1`)", get("http://x/", remote("[::1]:1")), true},
		{"client IP several miss", "ClientIP(`10.0.0.0/8`, `::1`)", get("http://x/", remote("192.0.2.1:1")), false},
		// Names in any case, operators as in v3.
		{"names in any case", "host(`a.com`) && PATHPREFIX(`/x`) && !headers(`X`, `1`)", get("http://a.com/x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compileV2(t, tt.rule)
			if got := r.Match(tt.req); got != tt.want {
				t.Errorf("%s (v2) matches %s %s = %v, want %v", tt.rule, tt.req.HTTP.Method, tt.req.HTTP.URL, got, tt.want)
			}
			if tr := r.Explain(tt.req); tr.Matched != tt.want {
				t.Errorf("Explain says %v, want %v", tr.Matched, tt.want)
			}
		})
	}
}

func TestCompileErrorsV2(t *testing.T) {
	tests := []struct {
		name, in string
		pos      int
		msg      string
	}{
		{"v3 matcher", "Path(`/`) && Header(`X`, `y`)", 13, `unknown matcher "Header" in rule syntax v2 (did you mean Headers?); the rule is valid in rule syntax v3: set the router's ruleSyntax to v3`},
		{"v3 path regexp", "PathRegexp(`^/a`)", 0, `unknown matcher "PathRegexp" in rule syntax v2; the rule is valid in rule syntax v3`},
		{"v3 regexp in HostRegexp", "HostRegexp(`^[a-z]+\\.example\\.com$`)", 11, `HostRegexp: argument 1 "^[a-z]+\\.example\\.com$": '^' outside a {name:re} variable`},
		{"v3 query form", "Query(`a`, `1`)", 6, "expected key=value (rule syntax v2); Query(`k`) and Query(`k`, `v`) are rule syntax v3; the rule is valid in rule syntax v3"},
		{"v3 wildcard host", "Host(`*.example.com`)", 5, "wildcard hosts need rule syntax v3"},
		{"unbalanced braces", "Path(`/a/{id`)", 5, "unbalanced braces: '{' at offset 3 is not closed"},
		{"unbalanced closing brace", "PathPrefix(`/a}`)", 11, "unbalanced braces: '}' at offset 2 has no '{'"},
		{"empty variable name", "Path(`/a/{:[0-9]+}`)", 5, `missing name or pattern in "{:[0-9]+}"`},
		{"empty variable pattern", "HostRegexp(`{sub:}.a.com`)", 11, `missing name or pattern in "{sub:}"`},
		{"bad variable regexp", "Path(`/a/{id:[0-9}`)", 5, "invalid regexp"},
		{"path without slash", "Path(`/a`, `b`)", 11, `Path: argument 2 "b": a path must start with '/'`},
		{"path with query", "PathPrefix(`/a?x`)", 11, "a path cannot contain '?' or '#'"},
		{"host template with port", "HostRegexp(`{a}.b.com:80`)", 11, "must not include a port"},
		{"empty host template", "HostRegexp(`a.com`, ``)", 20, "empty host"},
		{"non-ASCII host template", "HostRegexp(`{a}.bücher.de`)", 11, "non-ASCII"},
		{"empty host", "Host(``)", 5, "empty host"},
		{"headers odd", "Headers(`X-A`, `1`, `X-B`)", 0, "Headers: expected pairs of name and value, got 3 arguments"},
		{"headers one", "Headers(`X-A`)", 0, "Headers: expected at least 2 arguments, got 1"},
		{"headers bad name", "Headers(`X-A`, `1`, `X B`, `2`)", 20, `Headers: argument 3 "X B": not a valid header name`},
		{"headers regexp bad", "HeadersRegexp(`X-A`, `(`)", 21, `HeadersRegexp: argument 2 "(": invalid regexp`},
		{"query without key", "Query(`=1`)", 6, "empty query parameter name"},
		{"query bad template", "Query(`a={b`)", 6, "unbalanced braces"},
		{"method", "Method(`GET`, `P OST`)", 14, "not a valid method name"},
		{"client IP", "ClientIP(`::1`, `nope`)", 16, "invalid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompileSyntax(tt.in, SyntaxV2)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("CompileSyntax(%q, v2) = %v, %v; want *ParseError", tt.in, r, err)
			}
			if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("CompileSyntax(%q, v2) = at %d %q, want at %d containing %q", tt.in, pe.Pos, pe.Msg, tt.pos, tt.msg)
			}
		})
	}
}

func TestHostsAndDomainsV2(t *testing.T) {
	tests := []struct {
		rule           string
		hosts, domains []string
	}{
		{"Host(`b.com`, `A.com`)", []string{"a.com", "b.com"}, []string{"a.com", "b.com"}},
		{"HostHeader(`a.com`) && Path(`/x`)", []string{"a.com"}, []string{"a.com"}},
		{"HostRegexp(`Example.com`, `www.example.com`)", []string{"example.com", "www.example.com"}, nil},
		{"HostRegexp(`example.com`, `{sub}.example.com`)", nil, nil},
		{"Host(`a.com`) || HostRegexp(`{sub}.a.com`)", nil, []string{"a.com"}},
		{"Path(`/x`)", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r := compileV2(t, tt.rule)
			if got := r.Hosts(); !slices.Equal(got, tt.hosts) || (got == nil) != (tt.hosts == nil) {
				t.Errorf("Hosts() = %#v, want %#v", got, tt.hosts)
			}
			if got := r.Domains(); !slices.Equal(got, tt.domains) {
				t.Errorf("Domains() = %#v, want %#v", got, tt.domains)
			}
		})
	}
}

func TestTCPV2(t *testing.T) {
	tests := []struct {
		name string
		rule string
		req  *TCPRequest
		want bool
	}{
		{"several names", "HostSNI(`a.test`, `db.test`)", tcpReq("db.test", ""), true},
		{"several names miss", "HostSNI(`a.test`, `db.test`)", tcpReq("c.test", ""), false},
		{"catch-all", "HostSNI(`*`)", tcpReq("", ""), true},
		{"template", "HostSNIRegexp(`{db:db[0-9]+}.test`)", tcpReq("db12.test", ""), true},
		{"template anchored", "HostSNIRegexp(`{db:db[0-9]+}.test`)", tcpReq("db12.test.evil", ""), false},
		{"template bare variable", "HostSNIRegexp(`{sub}.test`)", tcpReq("a.b.test", ""), false},
		{"several CIDRs", "ClientIP(`10.0.0.0/8`, `::1`)", tcpReq("", "::1"), true},
		{"several protocols", "ALPN(`h2`, `postgresql`)", tcpReq("x", "", "postgresql"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompileTCPSyntax(tt.rule, SyntaxV2)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Match(tt.req); got != tt.want {
				t.Errorf("%s (v2) matches %+v = %v, want %v", tt.rule, tt.req, got, tt.want)
			}
		})
	}
	for in, want := range map[string]string{
		"HostSNIRegexp(`^db\\.test$`)": `'^' outside a {name:re} variable`,
		"HostSNI(`*`, `a.test`)":       "`*` matches every connection and must be the only argument",
		"HostSNI(`*.test`)":            "wildcards are not supported, use HostSNIRegexp",
	} {
		if _, err := CompileTCPSyntax(in, SyntaxV2); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CompileTCPSyntax(%q, v2) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestSyntax(t *testing.T) {
	for _, tt := range []struct {
		router, def string
		want        Syntax
		err         string
	}{
		{"", "", SyntaxV3, ""},
		{"", "v2", SyntaxV2, ""},
		{"v3", "v2", SyntaxV3, ""},
		{"V2", "", SyntaxV2, ""},
		{" v2 ", "v3", SyntaxV2, ""},
		{"v1", "", "", `unknown rule syntax "v1": want v2 or v3`},
		{"", "3", "", `default unknown rule syntax "3": want v2 or v3`},
	} {
		got, err := ResolveSyntax(tt.router, tt.def)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("ResolveSyntax(%q, %q) = %q, %v; want %q, %q", tt.router, tt.def, got, err, tt.want, tt.err)
		}
	}
	if _, err := CompileSyntax("Host(`a`)", "v4"); err == nil || !errors.Is(err, errSyntax) {
		t.Errorf("CompileSyntax with syntax v4: %v, want errSyntax", err)
	}
	// The same text means different things in the two syntaxes.
	v3, _ := CompileSyntax("HostRegexp(`a.com`)", SyntaxV3)
	v2, _ := CompileSyntax("HostRegexp(`a.com`)", SyntaxV2)
	req := get("http://xa.com/")
	if !v3.Match(req) || v2.Match(req) {
		t.Errorf("HostRegexp(`a.com`) on xa.com: v3 %v (want true, unanchored regexp), v2 %v (want false, a host)", v3.Match(req), v2.Match(req))
	}
}

func TestCheckAnySyntax(t *testing.T) {
	for rule, ok := range map[string]bool{
		"Host(`a`, `b`)":                      true, // v2
		"Host(`*.a.com`) && PathRegexp(`^/`)": true, // v3
		"Host(`a`, `*.b.com`)":                false,
		"Hots(`a`)":                           false,
	} {
		if err := CheckAnySyntax(rule, false); (err == nil) != ok {
			t.Errorf("CheckAnySyntax(%q) = %v, want ok %v", rule, err, ok)
		}
	}
	if err := CheckAnySyntax("HostSNI(`a`, `b`)", true); err != nil {
		t.Errorf("CheckAnySyntax(HostSNI(a, b), tcp) = %v, want nil (v2)", err)
	}
}

func TestExplainV2(t *testing.T) {
	r := compileV2(t, "Headers(`X-A`, `1`, `X-B`, `2`) && Query(`a=1`, `b=2`) && Method(`GET`, `HEAD`)")
	req := newReq(http.MethodPost, "http://x/?a=1", header("X-A", "1"))
	tr := r.Explain(req)
	want := "Headers(`X-A`, `1`, `X-B`, `2`) did not match header X-A: \"1\"; no header X-B; " +
		"Query(`a=1`, `b=2`) did not match query a=\"1\"; no query parameter b; " +
		"Method(`GET`, `HEAD`) did not match method POST"
	if tr.Matched || tr.Why() != want {
		t.Errorf("Why:\n got %s\nwant %s", tr.Why(), want)
	}
}
