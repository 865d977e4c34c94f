package rule

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestRoutingPath(t *testing.T) {
	tests := []struct{ target, want string }{
		{"/", "/"},
		{"/api/users", "/api/users"},
		{"/a%2Fb", "/a%2Fb"}, // an encoded slash is not a separator
		{"/a%2fb", "/a%2Fb"}, // hex digits upper-cased
		{"/admin%2F..%2Fsecret", "/admin%2F..%2Fsecret"},
		{"/public/..%2Fadmin", "/public/..%2Fadmin"},
		{"/a%23b", "/a%23b"},             // '#'
		{"/a%3Fb", "/a%3Fb"},             // '?'
		{"/a%25b", "/a%25b"},             // '%'
		{"/a%5Cb", "/a%5Cb"},             // '\', a separator to some servers
		{"/a%00b", "/a%00b"},             // control character
		{"/a%3Bb", "/a%3Bb"},             // ';'
		{"/a;b", "/a;b"},                 // sent literally
		{"/a:b@c", "/a:b@c"},             // sent literally
		{"/%61dmin", "/admin"},           // unreserved: decoded
		{"/a%20b", "/a b"},               // space: decoded
		{"/caf%C3%A9", "/café"},          // UTF-8: decoded
		{"/a%7Eb", "/a~b"},               // unreserved
		{"/a!b", "/a!b"},                 // sent literally
		{"/a%21b", "/a%21b"},             // sent encoded
		{"/a%2F%61", "/a%2Fa"},           // both kinds
		{"/%E2%82%AC/x%2Fy", "/€/x%2Fy"}, // RawPath set, mixed
		{"/a/../b", "/a/../b"},           // dot segments are left as sent
		{"/a%2E%2E/b", "/a../b"},         // unreserved dots: decoded
		{"*", "*"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			u, err := url.ParseRequestURI(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := RoutingPath(u); got != tt.want {
				t.Errorf("RoutingPath(%s) = %q, want %q (Path %q, RawPath %q)", tt.target, got, tt.want, u.Path, u.RawPath)
			}
		})
	}
}

func TestRoutingPathDoesNotAllocate(t *testing.T) {
	for _, target := range []string{"/api/users/42", "/a%20b/caf%C3%A9", "/a;b=c,d"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { RoutingPath(u) }); n != 0 {
			t.Errorf("RoutingPath(%s) allocates %v times, want 0", target, n)
		}
	}
}

// TestPathBypassAttempts are requests that try to reach a path guarded by
// PathPrefix(`/admin`) (with basicAuth, say) through a router that is not,
// or to leave a public PathPrefix(`/public/`) with an encoded slash. The
// routers compare the path as sent, so an encoded slash or hash never acts
// as a separator: what a router sees is what the server behind it gets.
func TestPathBypassAttempts(t *testing.T) {
	guarded := mustCompile(t, "PathPrefix(`/admin`)")
	guardedDir := mustCompile(t, "PathPrefix(`/admin/`)")
	public := mustCompile(t, "PathPrefix(`/public/`)")
	tests := []struct {
		target                     string
		toGuarded, toDir, toPublic bool
	}{
		{"/admin/secret", true, true, false},
		{"/admin%2F..%2Fsecret", true, false, false}, // no "/admin/" segment: the slash is data
		{"/admin%2fsecret", true, false, false},      // nor with lower-case hex
		{"/%61dmin/secret", true, true, false},       // an encoded letter is the letter
		{"/%61dmin%2Fsecret", true, false, false},
		{"/public/..%2Fadmin", false, false, true},    // one segment "..%2Fadmin" under /public/
		{"/public%2F..%2Fadmin", false, false, false}, // not under /public/: the public router does not take it
		{"/public%2F..%2F%61dmin", false, false, false},
		{"/public/%2E%2E/admin", false, false, true}, // dot segments: left to the entry point's path policy
		{"/admin%23x", true, false, false},
		{"/public%23/x", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			req := get("http://app.test" + tt.target)
			if got := guarded.Match(req); got != tt.toGuarded {
				t.Errorf("PathPrefix(`/admin`) matches %s = %v, want %v (routing path %q)", tt.target, got, tt.toGuarded, req.Path)
			}
			if got := guardedDir.Match(req); got != tt.toDir {
				t.Errorf("PathPrefix(`/admin/`) matches %s = %v, want %v (routing path %q)", tt.target, got, tt.toDir, req.Path)
			}
			if got := public.Match(req); got != tt.toPublic {
				t.Errorf("PathPrefix(`/public/`) matches %s = %v, want %v (routing path %q)", tt.target, got, tt.toPublic, req.Path)
			}
		})
	}
}

// TestMatchDerivesPath checks that a Request without Path is matched on
// the routing path, not URL.Path.
func TestMatchDerivesPath(t *testing.T) {
	r := mustCompile(t, "PathPrefix(`/public/`)")
	req := httptest.NewRequest("GET", "http://x/public%2F..%2Fadmin", nil)
	if r.Match(&Request{HTTP: req}) {
		t.Errorf("PathPrefix(`/public/`) matched %s (URL.Path %q) without a Path given", req.URL, req.URL.Path)
	}
}

func TestPathArgument(t *testing.T) {
	for in, want := range map[string]string{
		"/a":         "/a",
		"/a%2fb":     "/a%2Fb",
		"/%61":       "/a",
		"/a b":       "/a b",
		"/a%20b":     "/a b",
		"/caf%c3%a9": "/café",
		"/x%3Fy%23z": "/x%3Fy%23z",
	} {
		if got, err := pathArg(in); err != nil || got != want {
			t.Errorf("pathArg(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func mustCompile(t *testing.T, rule string) *Rule {
	t.Helper()
	r, err := Compile(rule)
	if err != nil {
		t.Fatalf("Compile(%q): %v", rule, err)
	}
	return r
}

func FuzzRoutingPath(f *testing.F) {
	for _, s := range []string{"/a%2Fb", "/%61dmin", "/caf%C3%A9", "/a%zz", "/a%", "/a?b", "/a%2f%2F", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		p := RoutingPath(u)
		// Idempotent: the routing path of a routing path is itself, so a
		// rule written in routing path form matches it.
		if q, err := normalizeEscaped(p); err != nil || q != p {
			t.Fatalf("RoutingPath(%q) = %q, which normalises to %q (%v)", target, p, q, err)
		}
		// The fast path agrees with the general one.
		if slow, _ := normalizeEscaped(u.EscapedPath()); slow != p {
			t.Fatalf("RoutingPath(%q) = %q, but the escaped path normalises to %q", target, p, slow)
		}
		// Decoding it gives Go's URL.Path back: nothing is lost or invented.
		if dec, err := url.PathUnescape(p); err == nil && dec != u.Path && u.Path != "*" {
			t.Fatalf("RoutingPath(%q) = %q decodes to %q, want URL.Path %q", target, p, dec, u.Path)
		}
	})
}
