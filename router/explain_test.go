package router

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// explainConfig has three routers for app.test that overlap on /api/x,
// routers bound to other entry points or kinds of connection, a disabled
// one, and one for another host.
func explainConfig() Input {
	svc := lbService("http://user:secret@127.0.0.1:9001")
	const apiRule = "Host(`app.test`) && PathPrefix(`/api`)" // default priority: its length, 38
	return Input{Config: &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"api@file":     {Rule: apiRule, Service: "app@file", Middlewares: []string{"strip@file"}},
			"admin@file":   {Rule: "Host(`app.test`) && PathPrefix(`/admin`)", Service: "app@file", Priority: 500},
			"catch@file":   {Rule: "Host(`app.test`)", Service: "app@file", Priority: 1},
			"same@file":    {Rule: apiRule, Service: "app@file", Priority: len(apiRule)},
			"all@file":     {Rule: "PathPrefix(`/`)", Service: "app@file", Priority: 2},
			"secure@file":  {Rule: "Host(`app.test`)", Service: "app@file", TLS: &config.RouterTLS{}, Priority: 900},
			"tlsep@file":   {Rule: "Host(`app.test`)", Service: "app@file", EntryPoints: []string{"websecure"}},
			"broken@file":  {Rule: "Host(`app.test`) && Path(`/api/x`)", Service: "app@file", Middlewares: []string{"typo@file"}},
			"other@file":   {Rule: "Host(`other.test`)", Service: "app@file"},
			"badrule@file": {Rule: "Host(`app.test`) &&", Service: "app@file"},
		},
		Services:    map[string]*config.Service{"app@file": svc},
		Middlewares: map[string]*config.Middleware{"strip@file": {StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}}},
	}}, Origins: config.OriginMap{{Kind: config.KindRouter, Name: "broken@file"}: "dyn.yaml:20"}}
}

func TestExplainTable(t *testing.T) {
	opts := testOptions(nil)
	tbl := Build(explainConfig(), opts)
	ex, err := tbl.Explain(opts.EntryPoints, ExplainRequest{URL: "http://app.test/api/x"})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Method != http.MethodGet || ex.Host != "app.test" || ex.TLS || len(ex.EntryPoints) != 2 {
		t.Fatalf("request: %+v", ex)
	}
	web, websecure := ex.EntryPoints[0], ex.EntryPoints[1]
	if web.Winner == nil || web.Winner.Router != "api@file" || web.Winner.Priority != 38 ||
		strings.Join(web.Winner.Middlewares, ",") != "strip@file" || web.Winner.Service != "app@file" {
		t.Fatalf("web winner: %+v", web.Winner)
	}
	if got := strings.Join(web.Winner.Servers, ","); got != "http://user:<redacted>@127.0.0.1:9001" {
		t.Errorf("servers not redacted: %s", got)
	}
	tests := []struct {
		router, reason, detail string
	}{
		{"admin@file", LostRule, "PathPrefix(`/admin`) did not match path /api/x"},
		{"same@file", LostPriority, "same priority 38 as api@file, which sorts first by name"},
		{"all@file", LostPriority, "its priority 2 is lower than api@file's 38"},
		{"catch@file", LostPriority, "its priority 1 is lower than api@file's 38"},
		{"secure@file", LostTLSOnly, "TLS only"},
		{"tlsep@file", LostEntryPoint, "bound to entry point(s) websecure, not web"},
	}
	others := map[string]RouterVerdict{}
	for _, o := range web.Others {
		others[o.Router] = o
	}
	for _, tt := range tests {
		t.Run(tt.router, func(t *testing.T) {
			v, ok := others[tt.router]
			if !ok {
				t.Fatalf("not explained; others: %+v", web.Others)
			}
			if v.Reason != tt.reason || !strings.Contains(v.Detail, tt.detail) {
				t.Errorf("got %s: %s; want %s: …%s…", v.Reason, v.Detail, tt.reason, tt.detail)
			}
		})
	}
	if _, ok := others["other@file"]; ok {
		t.Error("a router for another host is listed")
	}
	if len(web.Others) != len(tests) {
		t.Errorf("want %d other routers, got %+v", len(tests), web.Others)
	}
	if websecure.Winner != nil || !strings.Contains(websecure.Summary, "TLS router") {
		t.Errorf("websecure (http.tls) serves a plain request: %+v", websecure)
	}

	if len(ex.Disabled) != 2 {
		t.Fatalf("want broken@file and badrule@file disabled, got %+v", ex.Disabled)
	}
	for _, d := range ex.Disabled {
		switch d.Router {
		case "broken@file":
			if !strings.Contains(d.Detail, `middleware "typo@file" does not exist (from dyn.yaml:20)`) ||
				!strings.Contains(d.Detail, "its rule would match") {
				t.Errorf("broken@file: %s", d.Detail)
			}
		case "badrule@file":
			if !strings.Contains(d.Detail, "rule: ") || d.Trace != nil {
				t.Errorf("badrule@file: %+v", d)
			}
		default:
			t.Errorf("unexpected disabled router %s", d.Router)
		}
	}
}

func TestExplainRequests(t *testing.T) {
	opts := testOptions(nil)
	tbl := Build(explainConfig(), opts)
	tests := []struct {
		name   string
		req    ExplainRequest
		winner map[string]string // by entry point; "" for none
		err    string
	}{
		{"TLS request", ExplainRequest{URL: "https://app.test/api/x"},
			map[string]string{"web": "secure@file", "websecure": "secure@file"}, ""},
		{"path outside every prefix", ExplainRequest{URL: "http://app.test/other"},
			map[string]string{"web": "all@file", "websecure": ""}, ""},
		{"admin wins by priority", ExplainRequest{Method: "post", URL: "app.test/admin"},
			map[string]string{"web": "admin@file", "websecure": ""}, ""},
		{"Host header wins over the URL", ExplainRequest{URL: "http://ignored.test/api", Header: http.Header{"Host": {"app.test"}}},
			map[string]string{"web": "api@file", "websecure": ""}, ""},
		{"one entry point", ExplainRequest{URL: "https://app.test/", EntryPoints: []string{"websecure"}},
			map[string]string{"websecure": "secure@file"}, ""},
		{"unknown entry point", ExplainRequest{URL: "http://app.test/", EntryPoints: []string{"nope"}}, nil, `entry point "nope" does not exist`},
		{"bad scheme", ExplainRequest{URL: "ftp://app.test/"}, nil, `scheme "ftp"`},
		{"no url", ExplainRequest{}, nil, "url: missing"},
		{"bad client IP", ExplainRequest{URL: "http://app.test/", ClientIP: "nope"}, nil, "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := tbl.Explain(opts.EntryPoints, tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("want error %q, got %v", tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.EntryPoints) != len(tt.winner) {
				t.Fatalf("explained %d entry points, want %d", len(ex.EntryPoints), len(tt.winner))
			}
			for _, ep := range ex.EntryPoints {
				got := ""
				if ep.Winner != nil {
					got = ep.Winner.Router
				}
				if got != tt.winner[ep.EntryPoint] {
					t.Errorf("%s: winner %q, want %q (%s)", ep.EntryPoint, got, tt.winner[ep.EntryPoint], ep.Summary)
				}
			}
		})
	}
}

// TestExplainAgreesWithServing checks that the router Explain names is the
// one that serves the request.
func TestExplainAgreesWithServing(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"host":  {Rule: "Host(`example.com`)", Service: "a"},
			"api":   {Rule: "Host(`example.com`) && PathPrefix(`/api`)", Service: "b"},
			"catch": {Rule: "PathPrefix(`/`)", Service: "a", Priority: 1},
			"v2":    {Rule: "PathRegexp(`^/v2/`) || Query(`v`, `2`)", Service: "b", Priority: 100},
		},
		Services: map[string]*config.Service{"a": lbService(a), "b": lbService(b)},
	}}
	opts := testOptions(nil)
	tbl := Build(Input{Config: cfg}, opts)
	backendOf := map[string]string{"host": "a", "api": "b", "catch": "a", "v2": "b"}
	for _, target := range []string{"example.com/", "example.com/api/x", "other.com/x", "example.com/v2/x", "example.com/x"} {
		ex, err := tbl.Explain(opts.EntryPoints, ExplainRequest{URL: "http://" + target, EntryPoints: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		host, path, _ := strings.Cut(target, "/")
		_, served := serve(t, tbl, 0, false, host, "/"+path)
		w := ex.EntryPoints[0].Winner
		if w == nil || backendOf[w.Router] != served {
			t.Errorf("%s: explain says %+v, backend %q served it", target, w, served)
		}
	}
}
