package decode

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestParsePaths(t *testing.T) {
	tests := []struct {
		name   string
		kv     map[string]string
		prefix string
		sep    byte
		want   string
	}{
		{"labels", map[string]string{
			"ferry.http.routers.web.rule":    "Host(`a`)",
			"ferry.http.routers.web.service": "s",
			"other.label":                    "x",
			"ferryx.http":                    "x",
			"ferry":                          "x",
		}, "ferry", '.', "{http:{routers:{web:{rule:Host(`a`) service:s}}}}"},
		{"slash keys", map[string]string{
			"ferry/http/routers/web/rule":  "r",
			"/ferry/http/routers/api/rule": "q",
			"elsewhere/http":               "x",
		}, "/ferry", '/', "{http:{routers:{api:{rule:q} web:{rule:r}}}}"},
		{"prefix with trailing sep", map[string]string{"p.a": "1"}, "p.", '.', "{a:1}"},
		{"no prefix", map[string]string{"a.b": "1", "c": "2"}, "", '.', "{a:{b:1} c:2}"},
		{"numeric segments", map[string]string{"p.s.1.url": "b", "p.s.0.url": "a"}, "p", '.', "{s:{0:{url:a} 1:{url:b}}}"},
		{"bracket indexes", map[string]string{"p.s[0].url": "a", "p.m[1][0]": "x"}, "p", '.', "{m:{1:{0:x}} s:{0:{url:a}}}"},
		{"true next to sub-keys", map[string]string{"p.tls": "true", "p.tls.certresolver": "le"}, "p", '.', "{tls:{certresolver:le}}"},
		{"sub-keys next to TRUE", map[string]string{"p.a[0]": "x", "p.a": "TRUE"}, "p", '.', "{a:{0:x}}"},
		{"values keep spaces", map[string]string{"p.a": " x , y "}, "p", '.', "{a: x , y }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParsePaths(tt.kv, tt.prefix, tt.sep)
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(n); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParsePathsErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want []string // substrings of the error, in order
		tree string   // what is kept
	}{
		{"value and parent", map[string]string{"p.a.b": "1", "p.a.b.c": "2", "p.x": "y"},
			[]string{`key "p.a.b" has a value but "p.a.b.c" is under it`}, "{a:{b:1} x:y}"},
		{"parent then value", map[string]string{"p.a[0].b": "1", "p.a.0": "2"},
			[]string{`key "p.a.0" has a value but "p.a[0].b" is under it`}, "{a:{0:2}}"},
		{"same value twice", map[string]string{"p.s.0": "a", "p.s[0]": "b"},
			[]string{`keys "p.s.0" and "p.s[0]" set the same value`}, "{s:{0:a}}"},
		{"empty segment", map[string]string{"p.a..b": "1", "p.c.": "2"},
			[]string{`key "p.a..b": empty path segment`, `key "p.c.": empty path segment`}, "{}"},
		{"bad index", map[string]string{"p.a[x]": "1", "p.b[1": "2", "p.c[1]x": "3"},
			[]string{`key "p.a[x]": bad list index`, `key "p.b[1": bad list index`, `key "p.c[1]x": bad list index`}, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParsePaths(tt.kv, "p", '.')
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("errors = %q", lines)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) || !strings.HasPrefix(lines[i], "decode: ") {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
			if got := dump(n); got != tt.tree {
				t.Errorf("tree = %s, want %s", got, tt.tree)
			}
		})
	}
}

func TestParsePathsDecode(t *testing.T) {
	labels := map[string]string{
		"ferry.http.routers.web.rule":                                    "Host(`example.com`)",
		"ferry.http.routers.web.entrypoints":                             "web, websecure",
		"ferry.http.routers.web.middlewares[0]":                          "auth",
		"ferry.http.routers.web.middlewares[1]":                          "gzip",
		"ferry.http.routers.web.priority":                                "7",
		"ferry.http.routers.web.tls":                                     "true",
		"ferry.http.routers.web.tls.domains[0].main":                     "example.com",
		"ferry.http.routers.web.tls.domains[0].sans":                     "a.example.com,b.example.com",
		"ferry.http.routers.plain.tls":                                   "false",
		"ferry.http.routers.plain.rule":                                  "Path(`/`)",
		"ferry.http.services.web.loadbalancer.servers.0.url":             "http://127.0.0.1:1",
		"ferry.http.services.web.loadbalancer.servers.10.url":            "http://127.0.0.1:3",
		"ferry.http.services.web.loadbalancer.servers.2.url":             "http://127.0.0.1:2",
		"ferry.http.services.web.loadbalancer.servers.2.weight":          "5",
		"ferry.http.services.web.loadbalancer.passhostheader":            "False",
		"ferry.http.middlewares.auth.basicauth.users":                    "u:h1,v:h2",
		"ferry.http.middlewares.gzip.compress":                           "true",
		"ferry.http.middlewares.head.headers.customrequestheaders.X-Env": "prod",
		"ferry.http.routers.web.rulee":                                   "typo",
		"ferry.http.services.web.loadbalancer.servers.x.url":             "bad",
	}
	n, err := ParsePaths(labels, "ferry", '.')
	if err != nil {
		t.Fatal(err)
	}
	var c config.Config
	errs := Decode(n, &c)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"http.routers.web.rulee: unknown key",
		`http.services.web.loadbalancer.servers: expected a list, got a map (key "x" is not a list index)`,
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("errors:\n got  %q\n want %q", msgs, want)
	}
	web := c.HTTP.Routers["web"]
	wantWeb := &config.Router{
		Rule: "Host(`example.com`)", EntryPoints: []string{"web", "websecure"}, Middlewares: []string{"auth", "gzip"},
		Priority: 7, TLS: &config.RouterTLS{Domains: []config.Domain{{Main: "example.com", SANs: []string{"a.example.com", "b.example.com"}}}},
	}
	if !reflect.DeepEqual(web, wantWeb) {
		t.Errorf("web = %+v", web)
	}
	if p := c.HTTP.Routers["plain"]; p == nil || p.TLS != nil || p.Rule != "Path(`/`)" {
		t.Errorf("plain = %+v", p)
	}
	if m := c.HTTP.Middlewares["auth"].BasicAuth; m == nil || !reflect.DeepEqual(m.Users, []string{"u:h1", "v:h2"}) {
		t.Errorf("auth = %+v", m)
	}
	if c.HTTP.Middlewares["gzip"].Compress == nil {
		t.Error("compress=true did not allocate")
	}
	if h := c.HTTP.Middlewares["head"].Headers; h.CustomRequestHeaders["X-Env"] != "prod" {
		t.Errorf("headers = %+v", h)
	}

	// Without the bad key, servers sort numerically.
	delete(labels, "ferry.http.services.web.loadbalancer.servers.x.url")
	n, _ = ParsePaths(labels, "ferry", '.')
	c = config.Config{}
	Decode(n, &c)
	lb := c.HTTP.Services["web"].LoadBalancer
	var urls []string
	for _, s := range lb.Servers {
		urls = append(urls, s.URL)
	}
	if !reflect.DeepEqual(urls, []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"}) || lb.Servers[1].ServerWeight() != 5 || lb.PassesHost() {
		t.Errorf("load balancer = %+v", lb)
	}
}

func TestNodeGetRemove(t *testing.T) {
	n, _ := ParsePaths(map[string]string{"p.Enable": "true", "p.enable": "x", "p.http.a": "1"}, "p", '.')
	if g := n.Get("ENABLE"); g == nil || g.Value != "true" {
		t.Errorf("Get = %+v", g)
	}
	if g := n.Get("enable"); g == nil || g.Value != "x" {
		t.Errorf("Get exact = %+v", g)
	}
	if r := n.Remove("enable"); r == nil || r.Value != "true" {
		t.Errorf("Remove = %+v", r)
	}
	if got := dump(n); got != "{http:{a:1}}" {
		t.Errorf("after Remove: %s", got)
	}
	if n.Get("missing") != nil || n.Remove("missing") != nil || (*Node)(nil).Get("a") != nil {
		t.Error("missing key found")
	}
}

func TestDecodeMixedCaseLabels(t *testing.T) {
	n, err := ParsePaths(map[string]string{
		"p.http.services.web.loadBalancer.servers.0.url":      "http://127.0.0.1:1",
		"p.http.services.web.loadbalancer.servers.1.url":      "http://127.0.0.1:2",
		"p.http.services.web.LOADBALANCER.servers.1.weight":   "4",
		"p.http.services.web.loadBalancer.passHostHeader":     "false",
		"p.http.services.web.loadbalancer.passHostHeader":     "true",
		"p.http.services.web.loadbalancer.responseforwarding": "x",
	}, "p", '.')
	if err != nil {
		t.Fatal(err)
	}
	var c config.Config
	errs := Decode(n, &c)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"http.services.web.LOADBALANCER.passHostHeader: duplicate key",
		"http.services.web.LOADBALANCER.responseforwarding: expected a map, got a value",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("errors:\n got  %q\n want %q", msgs, want)
	}
	lb := c.HTTP.Services["web"].LoadBalancer
	if len(lb.Servers) != 2 || lb.Servers[0].URL != "http://127.0.0.1:1" || lb.Servers[1].URL != "http://127.0.0.1:2" ||
		lb.Servers[1].ServerWeight() != 4 || lb.PassesHost() {
		t.Errorf("load balancer = %+v", lb)
	}
}
