package gateway

import (
	"strings"
	"testing"
)

func TestIntersect(t *testing.T) {
	tests := []struct {
		listener, route, want string
		ok                    bool
	}{
		{"", "a.example.com", "a.example.com", true},
		{"a.example.com", "", "a.example.com", true},
		{"a.example.com", "a.example.com", "a.example.com", true},
		{"a.example.com", "b.example.com", "", false},
		{"*.example.com", "a.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", "", false},
		{"a.example.com", "*.example.com", "a.example.com", true},
		{"*.example.com", "*.a.example.com", "*.a.example.com", true},
		{"*.a.example.com", "*.example.com", "*.a.example.com", true},
		{"*.example.com", "*.example.org", "", false},
		{"*.example.com", "*.example.com", "*.example.com", true},
		{"foo.com", "*.foo.com", "", false},
		{"*.foo.com", "barfoo.com", "", false},
	}
	for _, tt := range tests {
		got, ok := intersect(tt.listener, tt.route)
		if got != tt.want || ok != tt.ok {
			t.Errorf("intersect(%q, %q) = %q, %v; want %q, %v", tt.listener, tt.route, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGroupHosts(t *testing.T) {
	tests := []struct {
		hosts []string
		want  string
	}{
		{[]string{""}, "any"},
		{[]string{"b.example", "", "*.x"}, "any"},
		{[]string{"b.example", "a.example", "*.z.example", "*.y.example"}, "(Host(`a.example`) || Host(`b.example`)) | HostRegexp(`^[^.]+(\\.[^.]+)*\\.y\\.example$`) | HostRegexp(`^[^.]+(\\.[^.]+)*\\.z\\.example$`)"},
	}
	for _, tt := range tests {
		var parts []string
		for _, g := range groupHosts(tt.hosts) {
			e := g.httpExpr()
			if e == "" {
				e = "any"
			}
			parts = append(parts, e)
		}
		if got := strings.Join(parts, " | "); got != tt.want {
			t.Errorf("groupHosts(%q) = %s; want %s", tt.hosts, got, tt.want)
		}
	}
}

func TestLit(t *testing.T) {
	if got := lit("a`b"); got != "\"a`b\"" {
		t.Errorf("lit = %s", got)
	}
	if got := lit(`a\b`); got != "`a\\b`" {
		t.Errorf("lit = %s", got)
	}
}
