package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// routerErrors returns the errors of router name, "" when it is enabled.
func routerErrors(tbl *Table, name string) string {
	info := tbl.routers[name]
	if info == nil {
		return "no such router"
	}
	return strings.Join(info.Error, "; ")
}

// TestRuleSyntaxPerRouter serves v2 and v3 routers side by side: the same
// text means a host in v2 and a regular expression in v3.
func TestRuleSyntaxPerRouter(t *testing.T) {
	v2, v3 := backend(t, "v2"), backend(t, "v3")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"old":     {Rule: "Host(`old.test`, `legacy.test`) && PathPrefix(`/a`, `/b`)", RuleSyntax: "v2", Service: "v2"},
			"oldre":   {Rule: "HostRegexp(`{sub:[a-z]+}.old.test`)", RuleSyntax: "v2", Service: "v2"},
			"new":     {Rule: "Host(`new.test`) && (PathPrefix(`/a`) || PathPrefix(`/b`))", Service: "v3"},
			"newre":   {Rule: "HostRegexp(`^[a-z]+\\.new\\.test$`)", RuleSyntax: "v3", Service: "v3"},
			"v2bad":   {Rule: "Host(`x.test`, `y.test`)", Service: "v3"},
			"typo":    {Rule: "Host(`z.test`)", RuleSyntax: "v4", Service: "v3"},
			"v3in2":   {Rule: "Header(`X`, `1`)", RuleSyntax: "v2", Service: "v3"},
			"samev2":  {Rule: "HostRegexp(`same.test`)", RuleSyntax: "v2", Service: "v2", Priority: 10},
			"samev3":  {Rule: "HostRegexp(`same.test`)", Service: "v3", Priority: 5},
			"wild":    {Rule: "Host(`*.wild.test`)", Service: "v3"},
			"wildv2":  {Rule: "Host(`*.wild.test`)", RuleSyntax: "v2", Service: "v3"},
			"explain": {Rule: "HostHeader(`e.test`)", Service: "v3"},
		},
		Services: map[string]*config.Service{"v2": lbService(v2), "v3": lbService(v3)},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	for name, want := range map[string]string{
		"old": "", "oldre": "", "new": "", "newre": "", "samev2": "", "samev3": "", "wild": "",
		"v2bad":  "rule: rule: at position 0: Host: expected 1 argument, got 2 (rule syntax v3: combine several with ||, as in Host(`a`) || Host(`b`)); the rule is valid in rule syntax v2: set the router's ruleSyntax to v2",
		"typo":   `ruleSyntax: unknown rule syntax "v4": want v2 or v3`,
		"v3in2":  `unknown matcher "Header" in rule syntax v2 (did you mean Headers?); the rule is valid in rule syntax v3`,
		"wildv2": "wildcard hosts need rule syntax v3",
	} {
		if got := routerErrors(tbl, name); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("router %s: errors %q, want %q", name, got, want)
		}
	}
	for _, tt := range []struct{ host, path, want string }{
		{"legacy.test", "/b/x", "v2"},
		{"abc.old.test", "/", "v2"},
		{"a1.old.test", "/", ""},
		{"new.test", "/b", "v3"},
		{"abc.new.test", "/", "v3"},
		{"same.test", "/", "v2"},  // v2: a host; v3 would match too but has the lower priority
		{"xsame.test", "/", "v3"}, // only the v3 regexp (unanchored) matches
		{"a.wild.test", "/", "v3"},
		{"a.b.wild.test", "/", ""},
		{"wild.test", "/", ""},
	} {
		if _, got := serve(t, tbl, 0, false, tt.host, tt.path); got != tt.want {
			t.Errorf("%s%s served by %q, want %q", tt.host, tt.path, got, tt.want)
		}
	}
}

// TestDefaultRuleSyntax parses routers without ruleSyntax with the default.
func TestDefaultRuleSyntax(t *testing.T) {
	b := backend(t, "b")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"unmarked": {Rule: "Host(`a.test`, `b.test`) && Headers(`X-Env`, `prod`)", Service: "s"},
			"marked":   {Rule: "Host(`c.test`) && Header(`X-Env`, `prod`)", RuleSyntax: "v3", Service: "s"},
		},
		Services: map[string]*config.Service{"s": lbService(b)},
	}}
	opts := testOptions(nil)
	opts.DefaultRuleSyntax = "v2"
	tbl := Build(Input{Config: cfg}, opts)
	for _, name := range []string{"unmarked", "marked"} {
		if errs := routerErrors(tbl, name); errs != "" {
			t.Errorf("router %s disabled with default syntax v2: %s", name, errs)
		}
	}
	sw := &Switcher{log: zap.NewNop(), entryPoints: opts.EntryPoints}
	sw.table.Store(tbl)
	for _, host := range []string{"b.test", "c.test"} {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
		req.Header.Set("X-Env", "prod")
		rec := httptest.NewRecorder()
		sw.Handler(0, false).ServeHTTP(rec, req)
		if rec.Header().Get("X-Test-Backend") != "b" {
			t.Errorf("%s: status %d, not served", host, rec.Code)
		}
	}

	opts.DefaultRuleSyntax = "" // v3
	tbl = Build(Input{Config: cfg}, opts)
	if errs := routerErrors(tbl, "unmarked"); !strings.Contains(errs, "the rule is valid in rule syntax v2") {
		t.Errorf("router unmarked with default syntax v3: errors %q, want the v2 hint", errs)
	}
	opts.DefaultRuleSyntax = "v9"
	tbl = Build(Input{Config: cfg}, opts)
	if errs := routerErrors(tbl, "unmarked"); !strings.Contains(errs, `ruleSyntax: default unknown rule syntax "v9"`) {
		t.Errorf("router unmarked with default syntax v9: errors %q", errs)
	}
	if errs := routerErrors(tbl, "marked"); errs != "" {
		t.Errorf("router marked v3 with default syntax v9: errors %q, want none", errs)
	}
}

// TestRuleCacheKeepsSyntaxesApart checks that a rebuild reuses compiled
// rules per syntax and text, never a v3 compilation for a v2 router.
func TestRuleCacheKeepsSyntaxesApart(t *testing.T) {
	b := backend(t, "b")
	mk := func(syntax string) *config.Config {
		return &config.Config{HTTP: config.HTTP{
			Routers:  map[string]*config.Router{"r": {Rule: "HostRegexp(`r.test`)", RuleSyntax: syntax, Service: "s"}},
			Services: map[string]*config.Service{"s": lbService(b)},
		}}
	}
	first := Build(Input{Config: mk("v3")}, testOptions(nil))
	second := Build(Input{Config: mk("v2")}, testOptions(first))
	if _, got := serve(t, first, 0, false, "xr.test", "/"); got != "b" {
		t.Errorf("v3 HostRegexp(`r.test`) does not match xr.test")
	}
	if _, got := serve(t, second, 0, false, "xr.test", "/"); got != "" {
		t.Errorf("v2 HostRegexp(`r.test`) matches xr.test: the v3 compilation was reused")
	}
	if r := second.routerRule("r"); r == nil || r.Syntax() != "v2" {
		t.Errorf("routerRule = %v, want the v2 rule", r)
	}
}

// TestWildcardHostIndex checks that Host(`*.example.com`) routes go into
// the index under their parent domain and merge with exact and any-host
// routes by priority.
func TestWildcardHostIndex(t *testing.T) {
	wild, exact, other := backend(t, "wild"), backend(t, "exact"), backend(t, "other")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"wild":     {Rule: "Host(`*.example.com`)", Service: "wild", Priority: 10},
			"exact":    {Rule: "Host(`www.example.com`)", Service: "exact", Priority: 20},
			"lowexact": {Rule: "Host(`low.example.com`)", Service: "exact", Priority: 5},
			"catch":    {Rule: "PathPrefix(`/`)", Service: "other", Priority: 1},
			"urgent":   {Rule: "PathPrefix(`/urgent`)", Service: "other", Priority: 100},
		},
		Services: map[string]*config.Service{"wild": lbService(wild), "exact": lbService(exact), "other": lbService(other)},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	set := &tbl.entries[0].plain
	if len(set.byParent["example.com"]) != 1 || len(set.byHost["*.example.com"]) != 0 {
		t.Fatalf("wildcard route not indexed under its parent: byParent %v, byHost keys %d", set.byParent, len(set.byHost))
	}
	for _, tt := range []struct{ host, path, want string }{
		{"a.example.com", "/", "wild"},
		{"www.example.com", "/", "exact"},
		{"low.example.com", "/", "wild"}, // the wildcard has the higher priority
		{"a.example.com", "/urgent", "other"},
		{"a.b.example.com", "/", "other"},
		{"example.com", "/", "other"},
		{"A.Example.COM:8080", "/", "wild"},
	} {
		if _, got := serve(t, tbl, 0, false, tt.host, tt.path); got != tt.want {
			t.Errorf("%s%s served by %q, want %q", tt.host, tt.path, got, tt.want)
		}
	}
	ex, err := tbl.Explain(testOptions(nil).EntryPoints, ExplainRequest{URL: "http://a.example.com/", EntryPoints: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.EntryPoints) == 0 || ex.EntryPoints[0].Winner == nil || ex.EntryPoints[0].Winner.Router != "wild" {
		t.Fatalf("explain a.example.com: %+v, want router wild", ex.EntryPoints)
	}
	var others []string
	for _, o := range ex.EntryPoints[0].Others {
		others = append(others, o.Router)
	}
	if got := strings.Join(others, ","); got != "urgent,catch" {
		t.Errorf("explain a.example.com: other routers %s, want urgent,catch (and not exact, lowexact)", got)
	}
}

// TestRoutingOnPathAsSent checks the table routes on the path as sent: a
// PathPrefix(`/public/`) does not take /public%2F..%2Fadmin away from the
// router that guards everything else.
func TestRoutingOnPathAsSent(t *testing.T) {
	pub, guarded := backend(t, "public"), backend(t, "guarded")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"public":  {Rule: "PathPrefix(`/public/`)", Service: "public"},
			"guarded": {Rule: "PathPrefix(`/`)", Service: "guarded", Priority: 1},
		},
		Services: map[string]*config.Service{"public": lbService(pub), "guarded": lbService(guarded)},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	for path, want := range map[string]string{
		"/public/x":              "public",
		"/public%2F..%2Fadmin":   "guarded",
		"/public%2f..%2fadmin":   "guarded",
		"/%70ublic/x":            "public", // an encoded letter is the letter
		"/public%2F..%2F%61dmin": "guarded",
	} {
		if _, got := serve(t, tbl, 0, false, "app.test", path); got != want {
			t.Errorf("%s served by %q, want %q", path, got, want)
		}
	}
}

// BenchmarkLookupWildcard measures a lookup among 10,000 exact hosts and
// 1,000 wildcard ones, for a host that only a wildcard serves.
func BenchmarkLookupWildcard(b *testing.B) {
	cfg := manyRouters(10000)
	for i := range 1000 {
		name := fmt.Sprintf("w%d", i)
		cfg.HTTP.Routers[name] = &config.Router{Rule: fmt.Sprintf("Host(`*.zone%d.example.com`) && PathPrefix(`/api`)", i), Service: "r0"}
	}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	for _, rs := range tbl.entries[0].plain.byParent {
		for _, r := range rs {
			r.handler = nopHandler{}
		}
	}
	sw := &Switcher{log: zap.NewNop(), entryPoints: testOptions(nil).EntryPoints}
	sw.table.Store(tbl)
	h := sw.Handler(0, false)
	req := httptest.NewRequest(http.MethodGet, "http://tenant.zone500.example.com/api/users", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
