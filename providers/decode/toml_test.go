package decode

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestParseTOML(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty", "", "{}"},
		{"scalars as text", "s = \"x\"\ni = 42\nf = 1.5\nb = true\n", "{s:x@1 i:42@2 f:1.5@3 b:true@4}"},
		{"dates", "d = 1979-05-27\nt = 07:32:00\ndt = 1979-05-27T07:32:00Z\n", "{d:1979-05-27@1 t:07:32:00@2 dt:1979-05-27T07:32:00Z@3}"},
		{"document order", "z = 1\na = 2\nm = 3\n", "{z:1@1 a:2@2 m:3@3}"},
		{"tables", "[http.routers.web]\nrule = \"r\"\n\n[http.routers.api]\nrule = \"q\"\n",
			"{http:{routers:{web:{rule:r@2}@1 api:{rule:q@5}@4}@1}@1}"},
		{"dotted keys", "a.b = 1\na.c = 2\n", "{a:{b:1@1 c:2@2}@1}"},
		{"quoted keys", "[m]\n\"X-Foo\" = 'v'\n'x.y' = \"w\"\n", "{m:{X-Foo:v@2 x.y:w@3}@1}"},
		{"array of tables", "[[s.servers]]\nurl = \"a\"\n\n[[s.servers]]\nurl = \"b\"\n",
			"{s:{servers:[{url:a@2}@1 {url:b@5}@4]@1}@1}"},
		{"sub-table of array element", "[[a]]\nx = 1\n[a.sub]\ny = 2\n[[a]]\nx = 3\n",
			"{a:[{x:1@2 sub:{y:2@4}@3}@1 {x:3@6}@5]@1}"},
		{"inline values take the key's line", "a = [\n  1,\n  2,\n]\nb = { c = 1 }\n", "{a:[1@1 2@1]@1 b:{c:1@5}@5}"},
		{"multi-line string hides keys", "a = \"\"\"\nx = 1\n[t]\n\"\"\"\nb = 2\n", "{a:x = 1\n[t]\n@1 b:2@5}"},
		{"comments", "# [x]\na = 1 # b = 2\n", "{a:1@2}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseTOML([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(n); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseTOMLErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		msg  string
	}{
		{"missing value", "a = 1\nb =\n", 2, "expected value"},
		{"duplicate key", "a = 1\na = 2\n", 2, "already been defined"},
		{"bad value", "a = 1\n\nb = tru\n", 3, "tru"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTOML([]byte(tt.doc))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", se.Line, se.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestParseTOMLDecode(t *testing.T) {
	doc := `[http.routers.web]
rule = "Host(` + "`a`" + `)"
service = "web"
entryPoints = ["web", "websecure"]
priority = 10
[http.routers.web.tls]

[[http.services.web.loadBalancer.servers]]
url = "http://127.0.0.1:8080"
weight = 2

[http.middlewares.limit.rateLimit]
average = 100
period = "1m"
bogus = 1
`
	n, err := ParseTOML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var c config.Config
	errs := Decode(n, &c)
	if len(errs) != 1 || errs[0].Error() != "http.middlewares.limit.rateLimit.bogus (line 15): unknown key" {
		t.Errorf("errors = %v", errs)
	}
	want := &config.Router{Rule: "Host(`a`)", Service: "web", EntryPoints: []string{"web", "websecure"}, Priority: 10, TLS: &config.RouterTLS{}}
	if got := c.HTTP.Routers["web"]; !reflect.DeepEqual(got, want) {
		t.Errorf("router = %+v", got)
	}
	lb := c.HTTP.Services["web"].LoadBalancer
	if len(lb.Servers) != 1 || lb.Servers[0].URL != "http://127.0.0.1:8080" || lb.Servers[0].ServerWeight() != 2 {
		t.Errorf("servers = %+v", lb.Servers)
	}
	if rl := c.HTTP.Middlewares["limit"].RateLimit; rl.Average != 100 || rl.Period.String() != "1m0s" {
		t.Errorf("rateLimit = %+v", rl)
	}
}
