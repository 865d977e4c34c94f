package rule

import (
	"slices"
	"testing"
)

func TestHosts(t *testing.T) {
	tests := []struct {
		name string
		rule string
		want []string // nil: any host
	}{
		{"host", "Host(`a`)", []string{"a"}},
		{"host normalised", "Host(`A.Example.COM.`)", []string{"a.example.com"}},
		{"host IPv6", "Host(`[::1]`)", []string{"::1"}},
		{"host any case", "hOST(`a`)", []string{"a"}},
		{"host or sorted", "Host(`b`) || Host(`a`) || Host(`b`)", []string{"a", "b"}},
		{"wildcard", "Host(`*.Example.com`)", []string{"*.example.com"}},
		{"wildcard covers exact", "Host(`a.example.com`) || Host(`*.example.com`) || Host(`example.com`)", []string{"*.example.com", "example.com"}},
		{"wildcard and exact below it", "Host(`*.example.com`) && Host(`a.example.com`)", []string{"a.example.com"}},
		{"wildcard and exact two below", "Host(`*.example.com`) && Host(`a.b.example.com`)", []string{}},
		{"wildcard and same wildcard", "Host(`*.a.com`) && (Host(`*.a.com`) || Host(`b.com`))", []string{"*.a.com"}},
		{"different wildcards", "Host(`*.a.com`) && Host(`*.b.a.com`)", []string{}},
		{"wildcard or exact and path", "(Host(`*.a.com`) || Host(`b.com`)) && Path(`/x`)", []string{"*.a.com", "b.com"}},
		{"star", "Host(`*`)", nil},
		{"star and host", "Host(`*`) && Host(`a`)", []string{"a"}},
		{"star or host", "Host(`*`) || Host(`a`)", nil},
		{"and", "Host(`a`) && Path(`/x`)", []string{"a"}},
		{"and with non-host first", "Path(`/x`) && Host(`a`)", []string{"a"}},
		{"or", "Host(`a`) || Host(`b`)", []string{"a", "b"}},
		{"or deduplicated", "Host(`b`) || Host(`a`) || Host(`B`)", []string{"a", "b"}},
		{"grouped or and", "(Host(`a`) || Host(`b`)) && Method(`GET`)", []string{"a", "b"}},
		{"or of ands", "Host(`a`) && Path(`/x`) || Host(`b`) && Path(`/y`)", []string{"a", "b"}},
		{"and intersects", "(Host(`a`) || Host(`b`)) && (Host(`b`) || Host(`c`))", []string{"b"}},
		{"and with negated host", "Host(`a`) && !Host(`b`)", []string{"a"}},
		{"contradiction", "Host(`a`) && Host(`b`)", []string{}},
		{"path only", "Path(`/x`)", nil},
		{"host or path", "Host(`a`) || Path(`/x`)", nil},
		{"not host", "!Host(`a`)", nil},
		{"double not host", "!!Host(`a`)", nil},
		{"host regexp", "HostRegexp(`^a$`)", nil},
		{"host regexp or host", "HostRegexp(`^a$`) || Host(`b`)", nil},
		{"host regexp and host", "HostRegexp(`^a`) && Host(`ab`)", []string{"ab"}},
		{"header Host is not indexed", "Header(`Host`, `a`)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.rule)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.rule, err)
			}
			got := r.Hosts()
			if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
				t.Errorf("Hosts() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestHostsAgreeWithMatch checks the index contract: a request whose host
// is not in Hosts() never matches.
func TestHostsAgreeWithMatch(t *testing.T) {
	rules := []string{
		"Host(`a.com`) && Path(`/x`)",
		"(Host(`a.com`) || Host(`b.com`)) && !Path(`/y`)",
		"Host(`a.com`) && Host(`b.com`)",
		"(Host(`a.com`) || Host(`b.com`)) && (Host(`b.com`) || Host(`c.com`))",
		"Host(`*.a.com`) && Path(`/x`)",
		"(Host(`*.a.com`) || Host(`b.com`)) && (Host(`x.a.com`) || Host(`b.com`) || Host(`c.com`))",
		"Host(`*.a.com`) && !Host(`x.a.com`)",
	}
	hosts := []string{"a.com", "b.com", "c.com", "d.com", "x.a.com", "y.a.com", "z.x.a.com"}
	for _, rule := range rules {
		t.Run(rule, func(t *testing.T) {
			r, err := Compile(rule)
			if err != nil {
				t.Fatal(err)
			}
			indexed := r.Hosts()
			if indexed == nil {
				t.Fatal("Hosts() = nil, want a host set")
			}
			for _, h := range hosts {
				for _, p := range []string{"/x", "/z"} {
					if r.Match(get("http://"+h+p)) && !slices.ContainsFunc(indexed, func(pat string) bool { return MatchHost(pat, h) }) {
						t.Errorf("request to %s%s matches but %s is not in Hosts() = %v", h, p, h, indexed)
					}
				}
			}
		})
	}
}

func TestHostsReturnsCopy(t *testing.T) {
	r, err := Compile("Host(`a`) || Host(`b`)")
	if err != nil {
		t.Fatal(err)
	}
	r.Hosts()[0] = "changed"
	if got := r.Hosts(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Hosts() after modifying a returned slice = %v, want [a b]", got)
	}
}

func TestDomains(t *testing.T) {
	tests := []struct {
		rule string
		want []string
	}{
		{"Host(`a`)", []string{"a"}},
		{"Host(`B`) || Path(`/x`) && host(`a`)", []string{"a", "b"}},
		{"Host(`*.Example.com`) || Host(`example.com`)", []string{"*.example.com", "example.com"}},
		{"Host(`*`) && Host(`a`)", []string{"a"}},
		{"Host(`*`)", nil},
		{"Host(`a`) && !Host(`b`)", []string{"a"}},
		{"!!Host(`a`)", []string{"a"}},
		{"Path(`/x`)", nil},
		{"HostRegexp(`a`)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := Compile(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Domains(); !slices.Equal(got, tt.want) {
				t.Errorf("Domains() = %v, want %v", got, tt.want)
			}
		})
	}
}
