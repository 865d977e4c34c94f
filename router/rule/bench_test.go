package rule

import "testing"

func benchmarkMatch(b *testing.B, rule string, req *Request) {
	r, err := Compile(rule)
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
	benchmarkMatch(b, "ClientIP(`10.0.0.0/8`, `2001:db8::/32`)", get("http://x/", remote("[2001:db8::1]:443")))
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
