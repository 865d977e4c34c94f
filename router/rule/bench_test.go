package rule

import (
	"net/url"
	"testing"
)

func benchmarkMatch(b *testing.B, rule string, req *Request) {
	benchmarkMatchSyntax(b, rule, SyntaxV3, req)
}

func benchmarkMatchSyntax(b *testing.B, rule string, syntax Syntax, req *Request) {
	r, err := CompileSyntax(rule, syntax)
	if err != nil {
		b.Fatal(err)
	}
	if !r.Match(req) {
		b.Fatal("rule does not match the request")
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Match(req)
	}
}

func BenchmarkMatchHostPathPrefix(b *testing.B) {
	benchmarkMatch(b, "Host(`a.example.com`) && PathPrefix(`/api`)", get("http://a.example.com/api/users/42"))
}

func BenchmarkMatchRegexp(b *testing.B) {
	benchmarkMatch(b, "HostRegexp(`^[a-z0-9-]+\\.example\\.com$`) && PathRegexp(`^/users/[0-9]+$`)",
		get("http://a.example.com/users/42"))
}

func BenchmarkMatchHeaderQuery(b *testing.B) {
	benchmarkMatch(b, "Header(`X-Env`, `prod`) && Query(`v`, `2`)",
		get("http://a.example.com/?a=1&b=2&v=2", header("X-Env", "prod")))
}

func BenchmarkMatchClientIP(b *testing.B) {
	benchmarkMatch(b, "ClientIP(`10.0.0.0/8`) || ClientIP(`2001:db8::/32`)", get("http://x/", remote("[2001:db8::1]:443")))
}

// BenchmarkMatchClientIPV2 is BenchmarkMatchClientIP in v2, one matcher
// with two ranges.
func BenchmarkMatchClientIPV2(b *testing.B) {
	benchmarkMatchSyntax(b, "ClientIP(`10.0.0.0/8`, `2001:db8::/32`)", SyntaxV2, get("http://x/", remote("[2001:db8::1]:443")))
}

// BenchmarkMatchAnyCase is BenchmarkMatchHostPathPrefix with the matcher
// names in other cases: names are resolved at compile time.
func BenchmarkMatchAnyCase(b *testing.B) {
	benchmarkMatch(b, "host(`a.example.com`) && PATHPREFIX(`/api`)", get("http://a.example.com/api/users/42"))
}

func BenchmarkMatchWildcardHost(b *testing.B) {
	benchmarkMatch(b, "Host(`*.example.com`) && PathPrefix(`/api`)", get("http://a.example.com/api/users/42"))
}

// BenchmarkMatchWildcardRegexp is the same match written as a regexp, the
// way to say it before Host(`*.example.com`).
func BenchmarkMatchWildcardRegexp(b *testing.B) {
	benchmarkMatch(b, "HostRegexp(`^[^.]+\\.example\\.com$`) && PathPrefix(`/api`)", get("http://a.example.com/api/users/42"))
}

func BenchmarkMatchEncodedPath(b *testing.B) {
	benchmarkMatch(b, "Host(`a.example.com`) && PathPrefix(`/files/a%2Fb`)", get("http://a.example.com/files/a%2fb/c"))
}

func BenchmarkMatchV2(b *testing.B) {
	benchmarkMatchSyntax(b, "Host(`a.example.com`, `b.example.com`) && PathPrefix(`/api`, `/v2`) && Method(`GET`, `HEAD`)",
		SyntaxV2, get("http://b.example.com/v2/users/42"))
}

func BenchmarkMatchV2Template(b *testing.B) {
	benchmarkMatchSyntax(b, "HostRegexp(`{sub:[a-z]+}.example.com`) && Path(`/users/{id:[0-9]+}`)",
		SyntaxV2, get("http://api.example.com/users/42"))
}

func BenchmarkRoutingPath(b *testing.B) {
	for _, target := range []string{"/api/users/42", "/files/a%2fb/c%20d"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(target, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				RoutingPath(u)
			}
		})
	}
}

func BenchmarkNormalizeHost(b *testing.B) {
	for _, in := range []string{"a.example.com", "A.Example.com:8443", "[2001:db8::1]:443"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizeHost(in)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("Host(`a.example.com`) && (PathPrefix(`/api`) || Method(`POST`)) && !Header(`X-A`, `1`)"); err != nil {
			b.Fatal(err)
		}
	}
}
