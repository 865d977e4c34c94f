package rule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type reqOption func(*http.Request)

func header(k, v string) reqOption { return func(r *http.Request) { r.Header.Add(k, v) } }

func remote(addr string) reqOption { return func(r *http.Request) { r.RemoteAddr = addr } }

func hostHeader(h string) reqOption { return func(r *http.Request) { r.Host = h } }

// newReq builds a matcher request for a target such as
// "http://example.com/path?q=1", with Host filled as a router would.
func newReq(method, target string, opts ...reqOption) *Request {
	r := httptest.NewRequest(method, target, nil)
	for _, o := range opts {
		o(r)
	}
	return &Request{HTTP: r, Host: NormalizeHost(r.Host), Path: RoutingPath(r.URL)}
}

func get(target string, opts ...reqOption) *Request { return newReq(http.MethodGet, target, opts...) }

func TestMatch(t *testing.T) {
	tenHosts := make([]string, 10)
	for i := range tenHosts {
		tenHosts[i] = fmt.Sprintf("Host(`h%d.example`)", i)
	}
	manyHosts := strings.Join(tenHosts, " || ")

	tests := []struct {
		name string
		rule string
		req  *Request
		want bool
	}{
		// Host
		{"host equal", "Host(`example.com`)", get("http://example.com/"), true},
		{"host case and port ignored", "Host(`example.com`)", get("http://EXAMPLE.com:8080/"), true},
		{"host trailing dot in request", "Host(`example.com`)", get("http://example.com./"), true},
		{"host trailing dot and case in rule", "Host(`Example.COM.`)", get("http://example.com/"), true},
		{"host other", "Host(`example.com`)", get("http://other.com/"), false},
		{"host subdomain", "Host(`example.com`)", get("http://www.example.com/"), false},
		{"host or host", "Host(`a.com`) || Host(`b.com`)", get("http://b.com/"), true},
		{"host or host miss", "Host(`a.com`) || Host(`b.com`)", get("http://c.com/"), false},
		{"host many", manyHosts, get("http://h9.example/"), true},
		{"host many miss", manyHosts, get("http://h10.example/"), false},
		{"host wildcard", "Host(`*.example.com`)", get("http://a.example.com/"), true},
		{"host wildcard case and port", "Host(`*.Example.COM`)", get("http://A.example.com:8443/"), true},
		{"host wildcard is one label", "Host(`*.example.com`)", get("http://a.b.example.com/"), false},
		{"host wildcard not the parent", "Host(`*.example.com`)", get("http://example.com/"), false},
		{"host wildcard not a suffix", "Host(`*.example.com`)", get("http://a.badexample.com/"), false},
		{"host wildcard trailing dot", "Host(`*.example.com.`)", get("http://a.example.com./"), true},
		{"host star", "Host(`*`)", get("http://anything.test/"), true},
		{"host star without host", "Host(`*`)", &Request{HTTP: &http.Request{Method: "GET", URL: &url.URL{Path: "/"}}}, true},
		{"matcher name lower-case", "host(`a.com`) && pathprefix(`/x`)", get("http://a.com/x"), true},
		{"matcher name upper-case", "HOST(`a.com`) && PATHPREFIX(`/y`)", get("http://a.com/x"), false},
		{"matcher name mixed case", "hOsTrEgExP(`^a`)", get("http://a.com/"), true},
		{"host from Host header", "Host(`example.org`)", get("http://x/", hostHeader("Example.org:80")), true},
		{"host IPv6 bracketed", "Host(`[::1]`)", get("http://[::1]:8080/"), true},
		{"host IPv6 bare", "Host(`::1`)", get("http://[::1]/"), true},
		{"host IPv4", "Host(`127.0.0.1`)", get("http://127.0.0.1:80/"), true},
		{"host falls back to HTTP.Host", "Host(`a.com`)", &Request{HTTP: httptest.NewRequest("GET", "http://A.com:1/", nil)}, true},
		// HostRegexp
		{"host regexp", "HostRegexp(`^[a-z]+\\.example\\.com$`)", get("http://API.example.com:443/"), true},
		{"host regexp miss", "HostRegexp(`^[a-z]+\\.example\\.com$`)", get("http://example.com/"), false},
		{"host regexp unanchored", "HostRegexp(`example`)", get("http://www.example.org/"), true},
		{"host regexp or", "HostRegexp(`^a$`) || HostRegexp(`^b$`)", get("http://b/"), true},
		// Path
		{"path equal", "Path(`/api`)", get("http://x/api"), true},
		{"path trailing slash", "Path(`/api`)", get("http://x/api/"), false},
		{"path case-sensitive", "Path(`/api`)", get("http://x/API"), false},
		{"path or path", "Path(`/a`) || Path(`/b`)", get("http://x/b"), true},
		{"path decoded", "Path(`/a b`)", get("http://x/a%20b"), true},
		{"path ignores query", "Path(`/a`)", get("http://x/a?b=c"), true},
		{"path with literal braces", "Path(`/a/{id}`)", get("http://x/a/%7Bid%7D"), true},
		{"host regexp with repetition", "HostRegexp(`^a{2}\\.com$`)", get("http://aa.com/"), true},
		{"path prefix", "PathPrefix(`/api`)", get("http://x/api/users"), true},
		{"path prefix miss", "PathPrefix(`/api`)", get("http://x/ap"), false},
		{"path prefix or", "PathPrefix(`/a`) || PathPrefix(`/b`)", get("http://x/bx"), true},
		{"path prefix or miss", "PathPrefix(`/a`) || PathPrefix(`/b`)", get("http://x/c"), false},
		{"path as sent: encoded slash is not a separator", "PathPrefix(`/a/`)", get("http://x/a%2Fb"), false},
		{"path as sent: encoded slash matched literally", "Path(`/a%2Fb`)", get("http://x/a%2fb"), true},
		{"path as sent: encoded hash stays encoded", "PathRegexp(`#`)", get("http://x/a%23b"), false},
		{"path as sent: encoded hash in the rule", "Path(`/a%23b`)", get("http://x/a%23b"), true},
		{"path unreserved decoded", "PathPrefix(`/admin`)", get("http://x/%61dmin/x"), true},
		{"path argument decoded like the request", "Path(`/caf%C3%A9`)", get("http://x/caf%c3%a9"), true},
		{"path regexp sees the routing path", "PathRegexp(`^/a/b$`)", get("http://x/a%2Fb"), false},
		{"path regexp", "PathRegexp(`^/user/[0-9]+$`)", get("http://x/user/42"), true},
		{"path regexp miss", "PathRegexp(`^/user/[0-9]+$`)", get("http://x/user/x"), false},
		// Method
		{"method", "Method(`GET`)", get("http://x/"), true},
		{"method argument upper-cased", "Method(`get`)", get("http://x/"), true},
		{"method case-sensitive", "Method(`GET`)", newReq("get", "http://x/"), false},
		{"method or", "Method(`POST`) || Method(`PUT`)", newReq("PUT", "http://x/"), true},
		{"method miss", "Method(`POST`) || Method(`PUT`)", get("http://x/"), false},
		// Header
		{"header", "Header(`X-Env`, `prod`)", get("http://x/", header("X-Env", "prod")), true},
		{"header second value", "Header(`X-Env`, `prod`)", get("http://x/", header("X-Env", "dev"), header("X-Env", "prod")), true},
		{"header value case-sensitive", "Header(`X-Env`, `prod`)", get("http://x/", header("X-Env", "Prod")), false},
		{"header absent", "Header(`X-Env`, `prod`)", get("http://x/"), false},
		{"header name case-insensitive", "Header(`x-env`, `prod`)", get("http://x/", header("X-ENV", "prod")), true},
		{"header Host", "Header(`Host`, `a.com:8080`)", get("http://a.com:8080/"), true},
		{"header regexp", "HeaderRegexp(`User-Agent`, `(?i)curl`)", get("http://x/", header("User-Agent", "Curl/8.0")), true},
		{"header regexp miss", "HeaderRegexp(`User-Agent`, `curl`)", get("http://x/", header("User-Agent", "wget")), false},
		{"header regexp Host", "HeaderRegexp(`host`, `^a\\.`)", get("http://a.com/"), true},
		// Query
		{"query", "Query(`a`, `1`)", get("http://x/?a=1"), true},
		{"query second value", "Query(`a`, `1`)", get("http://x/?a=2&a=1"), true},
		{"query other value", "Query(`a`, `1`)", get("http://x/?a=2"), false},
		{"query other key", "Query(`a`, `1`)", get("http://x/?b=1"), false},
		{"query no query", "Query(`a`, `1`)", get("http://x/"), false},
		{"query encoded key", "Query(`a`, `1`)", get("http://x/?%61=1"), true},
		{"query plus in value", "Query(`q`, `a b`)", get("http://x/?q=a+b"), true},
		{"query percent in value", "Query(`q`, `a&b`)", get("http://x/?q=a%26b"), true},
		{"query semicolon pair skipped", "Query(`a`, `1`)", get("http://x/?a=1;b=2"), false},
		{"query bad escape skipped", "Query(`a`, `1`)", get("http://x/?x=%zz&a=1"), true},
		{"query without value", "Query(`a`)", get("http://x/?b&a"), true},
		{"query with empty value", "Query(`a`)", get("http://x/?a="), true},
		{"query without value, given one", "Query(`a`)", get("http://x/?a=x"), false},
		{"query without value, given both", "Query(`a`)", get("http://x/?a=x&a"), true},
		{"query absent", "Query(`a`)", get("http://x/?ab"), false},
		{"query regexp one argument", "QueryRegexp(`a`)", get("http://x/?a"), true},
		{"query regexp any value", "QueryRegexp(`a`, `^.*$`)", get("http://x/?a=x"), true},
		{"query regexp", "QueryRegexp(`id`, `^[0-9]+$`)", get("http://x/?id=42"), true},
		{"query regexp miss", "QueryRegexp(`id`, `^[0-9]+$`)", get("http://x/?id=x"), false},
		// ClientIP
		{"client IP in CIDR", "ClientIP(`10.0.0.0/8`)", get("http://x/", remote("10.1.2.3:1234")), true},
		{"client IP out of CIDR", "ClientIP(`10.0.0.0/8`)", get("http://x/", remote("11.0.0.1:1234")), false},
		{"client IP bare remote", "ClientIP(`10.0.0.0/8`)", get("http://x/", remote("10.1.2.3")), true},
		{"client IP mapped remote", "ClientIP(`10.0.0.0/8`)", get("http://x/", remote("[::ffff:10.1.2.3]:80")), true},
		{"client IP mapped bare remote", "ClientIP(`10.0.0.0/8`)", get("http://x/", remote("::ffff:10.1.2.3")), true},
		{"client IP mapped rule", "ClientIP(`::ffff:10.0.0.0/104`)", get("http://x/", remote("10.1.2.3:80")), true},
		{"client IP mapped single rule", "ClientIP(`::ffff:10.1.2.3`)", get("http://x/", remote("10.1.2.3:80")), true},
		{"client IP single", "ClientIP(`192.168.1.1`)", get("http://x/", remote("192.168.1.1:5")), true},
		{"client IP single miss", "ClientIP(`192.168.1.1`)", get("http://x/", remote("192.168.1.2:5")), false},
		{"client IP unmasked CIDR", "ClientIP(`192.168.1.77/24`)", get("http://x/", remote("192.168.1.2:5")), true},
		{"client IP IPv6", "ClientIP(`2001:db8::/32`)", get("http://x/", remote("[2001:db8::1]:443")), true},
		{"client IP IPv6 miss", "ClientIP(`2001:db8::/32`)", get("http://x/", remote("[2001:db9::1]:443")), false},
		{"client IP IPv6 bare", "ClientIP(`2001:db8::/32`)", get("http://x/", remote("2001:db8::5")), true},
		{"client IP IPv6 bracketed no port", "ClientIP(`::1`)", get("http://x/", remote("[::1]")), true},
		{"client IP IPv6 zone", "ClientIP(`fe80::/10`)", get("http://x/", remote("[fe80::1%eth0]:80")), true},
		{"client IP IPv4 rule, IPv6 remote", "ClientIP(`0.0.0.0/0`)", get("http://x/", remote("[2001:db8::1]:1")), false},
		{"client IP or", "ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)", get("http://x/", remote("[::1]:1")), true},
		{"client IP garbage remote", "ClientIP(`0.0.0.0/0`)", get("http://x/", remote("garbage")), false},
		{"client IP empty remote", "ClientIP(`0.0.0.0/0`)", get("http://x/", remote("")), false},
		// Operators
		{"and", "Host(`a.com`) && PathPrefix(`/api`)", get("http://a.com/api/x"), true},
		{"and miss", "Host(`a.com`) && PathPrefix(`/api`)", get("http://a.com/web"), false},
		{"or", "Host(`a.com`) || Host(`b.com`)", get("http://b.com/"), true},
		{"not", "!Path(`/x`)", get("http://a.com/y"), true},
		{"not miss", "!Path(`/x`)", get("http://a.com/x"), false},
		{"precedence", "Path(`/a`) || Path(`/b`) && Method(`POST`)", get("http://x/a"), true},
		{"precedence miss", "Path(`/a`) || Path(`/b`) && Method(`POST`)", get("http://x/b"), false},
		{"parens", "(Path(`/a`) || Path(`/b`)) && Method(`POST`)", get("http://x/a"), false},
		{"three-way and", "PathRegexp(`^/a`) && Host(`a.com`) && Method(`GET`)", get("http://a.com/ab"), true},
		{"three-way or", "PathRegexp(`^/z`) || Host(`b.com`) || Method(`POST`)", get("http://a.com/ab"), false},
		{"de morgan", "!(Host(`a.com`) || Path(`/x`))", get("http://b.com/y"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.rule)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.rule, err)
			}
			if got := r.Match(tt.req); got != tt.want {
				t.Errorf("%s matches %s %s (remote %q) = %v, want %v",
					tt.rule, tt.req.HTTP.Method, tt.req.HTTP.URL, tt.req.HTTP.RemoteAddr, got, tt.want)
			}
		})
	}
}

func TestMatchWithoutHTTPRequest(t *testing.T) {
	r, err := Compile("!Path(`/x`)")
	if err != nil {
		t.Fatal(err)
	}
	if r.Match(nil) || r.Match(&Request{Host: "a"}) {
		t.Error("Match without an *http.Request = true, want false")
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM:8080", "example.com"},
		{"example.com.", "example.com"},
		{"EXAMPLE.com.:443", "example.com"},
		{"example.com:", "example.com"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"[2001:DB8::1]:443", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"127.0.0.1:8080", "127.0.0.1"},
		{"", ""},
		{":80", ""},
		{"[", "["},
		{"ÄBC.de", "Äbc.de"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeHost(tt.in); got != tt.want {
				t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeHostDoesNotAllocate(t *testing.T) {
	for _, in := range []string{"example.com", "a.b.c.example.org", "::1"} {
		if n := testing.AllocsPerRun(100, func() { NormalizeHost(in) }); n != 0 {
			t.Errorf("NormalizeHost(%q) allocates %v times, want 0", in, n)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	tests := []struct {
		rule string
		req  *Request
	}{
		{"Host(`a.com`) && PathPrefix(`/api`)", get("http://a.com/api/x")},
		{"Host(`a.com`) || Host(`b.com`) || Method(`GET`) && !Path(`/x`)", get("http://c.com/y")},
		{"Host(`*.example.com`) && PathPrefix(`/api`)", get("http://a.example.com/api/x")},
		{"Host(`*`) && Path(`/a%2Fb`)", get("http://a.example.com/a%2Fb")},
		{"Header(`X-A`, `1`) && Query(`q`, `v`)", get("http://x/?a=b&q=v", header("X-A", "1"))},
		{"ClientIP(`10.0.0.0/8`) || ClientIP(`2001:db8::/32`)", get("http://x/", remote("[2001:db8::1]:443"))},
		{"HostRegexp(`^[a-z]+\\.example\\.com$`) && PathRegexp(`^/v[0-9]+/`)", get("http://api.example.com/v2/x")},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := Compile(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Match(tt.req) {
				t.Fatal("rule does not match the request")
			}
			if n := testing.AllocsPerRun(100, func() { r.Match(tt.req) }); n != 0 {
				t.Errorf("Match allocates %v times, want 0", n)
			}
		})
	}
}
