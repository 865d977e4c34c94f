package rule

import (
	"errors"
	"regexp/syntax"
	"strings"
	"testing"
)

// sexpr prints a syntax tree with explicit structure, for tests.
func sexpr(n *node) string {
	switch n.kind {
	case kindMatcher:
		return n.name + "[" + strings.Join(n.args, "|") + "]"
	case kindNot:
		return "(not " + sexpr(n.children[0]) + ")"
	}
	op := "and"
	if n.kind == kindOr {
		op = "or"
	}
	parts := []string{op}
	for _, c := range n.children {
		parts = append(parts, sexpr(c))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// canonicalTree parses and compiles rule with table and prints its tree,
// with the matchers' canonical names.
func canonicalTree[R any](t testing.TB, rule string, table *matcherTable[R]) string {
	t.Helper()
	n, err := parse(rule)
	if err != nil {
		t.Fatalf("parse(%q): %v", rule, err)
	}
	if _, _, err := build(n, table); err != nil {
		t.Fatalf("build(%q): %v", rule, err)
	}
	return sexpr(n)
}

func TestParseStructure(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"single", "Host(`a`)", "Host[a]"},
		{"and binds tighter than or", "A(`1`) || B(`2`) && C(`3`)", "(or A[1] (and B[2] C[3]))"},
		{"and binds tighter than or, left", "A(`1`) && B(`2`) || C(`3`)", "(or (and A[1] B[2]) C[3])"},
		{"not binds tighter than and", "!A(`1`) && B(`2`)", "(and (not A[1]) B[2])"},
		{"not of group", "!(A(`1`) && B(`2`))", "(not (and A[1] B[2]))"},
		{"double not", "!!A(`1`)", "(not (not A[1]))"},
		{"parens override", "(A(`1`) || B(`2`)) && C(`3`)", "(and (or A[1] B[2]) C[3])"},
		{"and flattened", "A(`1`) && (B(`2`) && C(`3`)) && D(`4`)", "(and A[1] B[2] C[3] D[4])"},
		{"or flattened", "(A(`1`) || B(`2`)) || C(`3`)", "(or A[1] B[2] C[3])"},
		{"redundant parens", "((A(`1`)))", "A[1]"},
		{"no args", "A()", "A[]"},
		{"several args", "A(`1`, `2`,`3`)", "A[1|2|3]"},
		{"double quotes", `A("x")`, "A[x]"},
		{"mixed quotes", "A(\"x\", `y`)", "A[x|y]"},
		{"go escapes", `A("a\tb\u00e9\x41\"")`, "A[a\tbéA\"]"},
		{"backticks are raw", "A(`a\\tb\"`)", "A[a\\tb\"]"},
		{"empty string", "A(``)", "A[]"},
		{"whitespace everywhere", " \t\n A ( `1` , `2` ) \n&&\r\n!\t( B(`3`) ) ", "(and A[1|2] (not B[3]))"},
		{"no whitespace", "!A(`1`)&&B(`2`)||C(`3`)", "(or (and (not A[1]) B[2]) C[3])"},
		{"identifier with digits and underscore", "a_1B(`x`)", "a_1B[x]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parse(tt.in)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.in, err)
			}
			if got := sexpr(n); got != tt.want {
				t.Errorf("parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		pos      int
		msg      string
	}{
		{"empty", "", 0, "empty rule"},
		{"blank", "   ", 3, "empty rule"},
		{"missing close paren", "(Host(`a`)", 10, "expected ')' to close '(' at position 0, found end of rule"},
		{"missing close paren before token", "(Host(`a`) Path(`/`)", 11, `expected ')' to close '(' at position 0, found "Path"`},
		{"extra close paren", "Host(`a`))", 9, "unexpected ')', expected '&&', '||' or end of rule"},
		{"juxtaposed matchers", "Host(`a`) Path(`/`)", 10, `unexpected "Path", expected '&&', '||' or end of rule`},
		{"single ampersand", "Host(`a`) & Path(`/`)", 10, "expected '&&', found '&'"},
		{"single bar", "Host(`a`) | Path(`/`)", 10, "expected '||', found '|'"},
		{"dangling and", "Host(`a`) &&", 12, "unexpected end of rule, expected a matcher, '!' or '('"},
		{"leading or", "|| Host(`a`)", 0, "unexpected '||', expected a matcher"},
		{"dangling not", "Host(`a`) && !", 14, "unexpected end of rule"},
		{"missing open paren", "Host `a`", 5, "expected '(' after Host, found string"},
		{"name alone", "Host", 4, "expected '(' after Host, found end of rule"},
		{"unquoted argument", "Host(example.com)", 5, `Host: expected a string argument in backticks or double quotes, found "example"`},
		{"trailing comma", "Host(`a`,)", 9, "Host: expected a string argument"},
		{"missing comma", "Host(`a` `b`)", 9, "Host: expected ',' or ')' after argument, found string"},
		{"unclosed arg list", "Host(`a`", 8, "Host: expected ',' or ')' after argument, found end of rule"},
		{"unterminated backtick", "Host(`a)", 5, "unterminated string"},
		{"unterminated double quote", `Host("a)`, 5, "unterminated string"},
		{"escaped quote does not terminate", `Host("a\")`, 5, "unterminated string"},
		{"newline in double quote", "Host(\"a\n\")", 5, "unterminated string"},
		{"bad escape", `Host("a\q")`, 5, "invalid string literal"},
		{"single quotes", "Host('a')", 5, "single-quoted strings are not supported"},
		{"stray character", "Host(`a`) && #", 13, "unexpected character '#'"},
		{"non-ASCII character", "Host(`a`) && é", 13, "unexpected character 'é'"},
		{"empty parens", "()", 1, "unexpected ')', expected a matcher"},
		{"too deep", strings.Repeat("(", maxDepth+1) + "A(`1`)" + strings.Repeat(")", maxDepth+1), maxDepth, "nested too deeply"},
		{"too many nots", strings.Repeat("!", maxDepth+1) + "A(`1`)", maxDepth, "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("parse(%q) error = %v, want *ParseError", tt.in, err)
			}
			if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("parse(%q) = at %d %q, want at %d containing %q", tt.in, pe.Pos, pe.Msg, tt.pos, tt.msg)
			}
		})
	}
}

func TestParseDepthLimitAllowsMax(t *testing.T) {
	in := strings.Repeat("(", maxDepth) + "A(`1`)" + strings.Repeat(")", maxDepth)
	if _, err := parse(in); err != nil {
		t.Fatalf("parse at maximum depth: %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, in string
		pos      int
		msg      string
	}{
		{"unknown matcher with suggestion", "Hots(`a`)", 0, `unknown matcher "Hots" in rule syntax v3 (did you mean Host?)`},
		{"typo", "PathPrefx(`/a`)", 0, "(did you mean PathPrefix?)"},
		{"typo in another case", "pathprefx(`/a`)", 0, "(did you mean PathPrefix?)"},
		{"unknown matcher without suggestion", "Frobnicate(`a`)", 0, `unknown matcher "Frobnicate" in rule syntax v3`},
		{"v2 matcher names the other syntax", "Path(`/`) && Headers(`X`, `y`)", 13, `unknown matcher "Headers" in rule syntax v3 (did you mean Header?); the rule is valid in rule syntax v2: set the router's ruleSyntax to v2`},
		{"v2 HostHeader", "HostHeader(`a`)", 0, "the rule is valid in rule syntax v2"},
		{"too few args", "Host()", 0, "Host: expected 1 argument, got 0"},
		{"one host", "Host(`a`, `b`)", 0, "Host: expected 1 argument, got 2 (rule syntax v3: combine several with ||, as in Host(`a`) || Host(`b`)); the rule is valid in rule syntax v2"},
		{"one path", "Path(`/a`, `/b`)", 0, "Path: expected 1 argument, got 2"},
		{"one prefix", "Host(`a`) && PathPrefix(`/a`, `/b`)", 13, "PathPrefix: expected 1 argument, got 2"},
		{"one method", "Method(`GET`, `HEAD`)", 0, "Method: expected 1 argument, got 2"},
		{"one CIDR", "ClientIP(`10.0.0.0/8`, `::1`)", 0, "ClientIP: expected 1 argument, got 2"},
		{"one host regexp", "HostRegexp(`^a`, `^b`)", 0, "HostRegexp: expected 1 argument, got 2"},
		{"header needs two", "Header(`X`)", 0, "Header: expected 2 arguments, got 1"},
		{"path regexp takes one", "PathRegexp(`a`, `b`)", 0, "PathRegexp: expected 1 argument, got 2"},
		{"query arity", "Query(`a`, `b`, `c`)", 0, "Query: expected 1 or 2 arguments, got 3"},
		{"bad host regexp", "HostRegexp(`(`)", 11, `HostRegexp: argument 1 "(": invalid regexp: error parsing regexp`},
		{"empty host regexp", "Host(`a`) && HostRegexp(``)", 24, `HostRegexp: argument 1 "": empty regular expression`},
		{"non-ASCII host regexp", "HostRegexp(`^bücher`)", 11, "non-ASCII"},
		{"bad path regexp", "Path(`/`) && PathRegexp(`[a`)", 24, `PathRegexp: argument 1 "[a": invalid regexp`},
		{"empty path regexp", "PathRegexp(``)", 11, "empty regular expression"},
		{"bad header regexp", "HeaderRegexp(`X`, `*`)", 18, `HeaderRegexp: argument 2 "*": invalid regexp`},
		{"empty header regexp", "HeaderRegexp(`X`, ``)", 18, `HeaderRegexp: argument 2 "": empty regular expression`},
		{"bad query regexp", "QueryRegexp(`q`, `a{2,1}`)", 17, "QueryRegexp: argument 2"},
		{"empty query regexp", "QueryRegexp(`q`, ``)", 17, "QueryRegexp: argument 2 \"\": empty regular expression"},
		{"bad CIDR", "ClientIP(`10.0.0.0/33`)", 9, `ClientIP: argument 1 "10.0.0.0/33": invalid CIDR range`},
		{"bad IP", "ClientIP(`10.0.0.256`)", 9, "ClientIP: argument 1 \"10.0.0.256\": invalid IP address"},
		{"IP zone", "ClientIP(`fe80::1%eth0`)", 9, "zones are not supported"},
		{"host with port", "Host(`a.com:80`)", 5, "must not include a port"},
		{"host wildcard in the middle", "Host(`a.*.com`)", 5, "a wildcard must be a whole first label"},
		{"host wildcard not a label", "Host(`*a.com`)", 5, "a wildcard must be a whole first label"},
		{"host two wildcards", "Host(`*.*.a.com`)", 5, "a wildcard must be a whole first label"},
		{"host double star", "Host(`**.a.com`)", 5, "a wildcard must be a whole first label"},
		{"host wildcard of nothing", "Host(`*.`)", 5, "empty host"},
		{"host wildcard of an IP", "Host(`*.0.0.1`)", 5, "not an IP address"},
		{"host wildcard with port", "Host(`*.a.com:80`)", 5, "must not include a port"},
		{"host empty", "Host(`a`) || Host(``)", 18, "Host: argument 1 \"\": empty host"},
		{"host only dot", "Host(`.`)", 5, "empty host"},
		{"host non-ASCII", "Host(`bücher.de`)", 5, "non-ASCII"},
		{"host wildcard non-ASCII", "Host(`*.bücher.de`)", 5, "non-ASCII"},
		{"host with path", "Host(`a.com/x`)", 5, "must not contain '/'"},
		{"host bad IPv6 literal", "Host(`[zz]`)", 5, "invalid IPv6 literal"},
		{"path without slash", "Path(`api`)", 5, `Path: argument 1 "api": a path must start with '/'`},
		{"path prefix without slash", "PathPrefix(`/a`) || PathPrefix(`b`)", 31, "PathPrefix: argument 1"},
		{"path with query", "Path(`/a?b=c`)", 5, "a path cannot contain '?' or '#'"},
		{"path with bad escape", "PathPrefix(`/100%`)", 11, "invalid percent-encoding: write a literal % as %25"},
		{"path with bad hex", "Path(`/a%zz`)", 5, "invalid percent-encoding"},
		{"v2 host template", "HostRegexp(`{sub:[a-z]+}.example.com`)", 11, "template variables like {name:re} (Traefik v2 syntax) are not supported, use a regular expression; the rule is valid in rule syntax v2"},
		{"v2 bare host template", "HostRegexp(`{sub}.example.com`)", 11, "HostRegexp: argument 1"},
		{"v2 path template", "Path(`/users/{id:[0-9]+}`)", 5, "use a regular expression (PathRegexp)"},
		{"v2 path prefix template", "PathPrefix(`/{v:v[12]}/`)", 11, "template variables like {name:re} (Traefik v2 syntax) are not supported"},
		{"bad method", "Method(`GET POST`)", 7, "not a valid method name"},
		{"bad header name", "Header(`X Y`, `v`)", 7, "not a valid header name"},
		{"empty query key", "Query(``, `v`)", 6, "empty query parameter name"},
		{"v2 query form", "Query(`a=1`)", 6, "Query(`k=v`) is the v2 form: in rule syntax v3 write Query(`k`, `v`); the rule is valid in rule syntax v2"},
		{"empty query regexp key", "QueryRegexp(``, `v`)", 12, "empty query parameter name"},
		{"unknown matcher names the syntax", "HostSNI(`a`)", 0, `unknown matcher "HostSNI" in rule syntax v3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%q) = %v, %v; want *ParseError", tt.in, r, err)
			}
			if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Compile(%q) = at %d %q, want at %d containing %q", tt.in, pe.Pos, pe.Msg, tt.pos, tt.msg)
			}
		})
	}
}

func TestParseErrorFormatAndUnwrap(t *testing.T) {
	_, err := Compile("Host(`a`) && PathRegexp(`(`)")
	want := "rule: at position 24: PathRegexp: argument 1 \"(\": invalid regexp: error parsing regexp: missing closing ): `(`"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	var se *syntax.Error
	if !errors.As(err, &se) || se.Code != syntax.ErrMissingParen {
		t.Errorf("errors.As(*syntax.Error) = %v, want the regexp syntax error", se)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"canonical spacing", "Host( \"a\" )&&PathPrefix(`/x`)", "Host(`a`) && PathPrefix(`/x`)"},
		{"redundant parens dropped", "((Host(`a`)) && (Path(`/`)))", "Host(`a`) && Path(`/`)"},
		{"needed parens kept", "(Host(`a`) || Host(`b`)) && Path(`/`)", "(Host(`a`) || Host(`b`)) && Path(`/`)"},
		{"and inside or", "Host(`a`) || (Host(`b`) && Path(`/`))", "Host(`a`) || Host(`b`) && Path(`/`)"},
		{"not of group", "!(Host(`a`) || Host(`b`))", "!(Host(`a`) || Host(`b`))"},
		{"not of not", "! !Host(`a`)", "!!Host(`a`)"},
		{"backtick in arg", "Header(`X`, \"a`b\")", "Header(`X`, \"a`b\")"},
		{"escape decoded", `Path("/a\x62")`, "Path(`/ab`)"},
		{"original args kept", "Host(`Example.COM.`)", "Host(`Example.COM.`)"},
		{"canonical matcher names", "host(`a`) && PATHPREFIX(`/x`) || headerregexp(`X`, `y`)", "Host(`a`) && PathPrefix(`/x`) || HeaderRegexp(`X`, `y`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.in)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			if a, b := canonicalTree(t, tt.in, httpV3), canonicalTree(t, r.String(), httpV3); a != b {
				t.Errorf("String() reparses to %s, want %s", b, a)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"host", "host", 0},
		{"hots", "host", 1},
		{"hst", "host", 1},
		{"hoost", "host", 1},
		{"path", "host", 4},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		t.Run(tt.a+"-"+tt.b, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b); got != tt.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
