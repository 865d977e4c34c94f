package router

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// TestEntryPointDefaults: routers on an entry point with http.middlewares
// and http.tls.certResolver get them, split per entry point as Traefik
// does; origins and provider problems follow the parts.
func TestEntryPointDefaults(t *testing.T) {
	eps := []EntryPoint{
		{Name: "web"},
		{Name: "websecure", TLS: true, TLSOptions: "modern", Middlewares: []string{"sec@file", "local"},
			CertResolver: "le", Domains: []config.Domain{{Main: "example.com"}}},
	}
	ownTLS := &config.RouterTLS{CertResolver: "other"}
	in := Input{
		Config: &config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{
			"all@docker":    {Rule: "Host(`a`)", Service: "s", Middlewares: []string{"own@docker"}},
			"secure@file":   {Rule: "Host(`b`)", Service: "s", EntryPoints: []string{"websecure"}, TLS: ownTLS},
			"plain@file":    {Rule: "Host(`c`)", Service: "s", EntryPoints: []string{"web"}},
			"broken@docker": {Rule: "Host(`d`)", Service: "s", EntryPoints: []string{"web", "websecure"}},
		}}},
		Problems: []config.Problem{{Kind: config.KindRouter, Name: "broken@docker", Message: "bad label"}},
		Origins:  config.OriginMap{{Kind: config.KindRouter, Name: "all@docker"}: `container "a"`},
	}
	out := withEntryPointDefaults(in, eps)
	rs := out.Config.HTTP.Routers
	want := map[string]config.Router{
		"all@docker": {Rule: "Host(`a`)", Service: "s", EntryPoints: []string{"web"}, Middlewares: []string{"own@docker"}},
		"websecure-all@docker": {Rule: "Host(`a`)", Service: "s", EntryPoints: []string{"websecure"},
			Middlewares: []string{"sec@file", "local@docker", "own@docker"},
			TLS:         &config.RouterTLS{CertResolver: "le", Options: "modern", Domains: []config.Domain{{Main: "example.com"}}}},
		"secure@file": {Rule: "Host(`b`)", Service: "s", EntryPoints: []string{"websecure"},
			Middlewares: []string{"sec@file", "local@file"}, TLS: ownTLS},
		"plain@file":              {Rule: "Host(`c`)", Service: "s", EntryPoints: []string{"web"}},
		"broken@docker":           {Rule: "Host(`d`)", Service: "s", EntryPoints: []string{"web"}},
		"websecure-broken@docker": {},
	}
	if len(rs) != len(want) {
		t.Fatalf("routers %v, want %d", keys(rs), len(want))
	}
	for name, w := range want {
		got := rs[name]
		if got == nil {
			t.Fatalf("no router %s among %v", name, keys(rs))
		}
		if name != "websecure-broken@docker" && !reflect.DeepEqual(*got, w) {
			t.Errorf("%s = %+v, want %+v", name, *got, w)
		}
	}
	if o := out.Origins.Origin(config.ObjectID{Kind: config.KindRouter, Name: "websecure-all@docker"}); o != `container "a"` {
		t.Errorf("origin of the split router %q", o)
	}
	var disabled []string
	for _, p := range out.Problems {
		disabled = append(disabled, p.Name)
	}
	if !reflect.DeepEqual(disabled, []string{"websecure-broken@docker", "broken@docker"}) && !reflect.DeepEqual(disabled, []string{"broken@docker", "websecure-broken@docker"}) {
		t.Errorf("problems on %q, want both parts of broken@docker", disabled)
	}
	if in.Config.HTTP.Routers["all@docker"].EntryPoints != nil || len(in.Config.HTTP.Routers) != 4 || len(in.Origins.(config.OriginMap)) != 1 {
		t.Error("the input was modified")
	}
	if same := withEntryPointDefaults(in, []EntryPoint{{Name: "web"}, {Name: "websecure", TLS: true}}); same.Config != in.Config {
		t.Error("entry points without defaults: the configuration was copied")
	}
}

// TestEntryPointMiddlewaresServe: a request on the entry point passes its
// middlewares; on another entry point it does not.
func TestEntryPointMiddlewaresServe(t *testing.T) {
	a := backend(t, "a")
	cfg := &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"r@file": {Rule: "Host(`example.com`)", Service: "s@file"}},
		Services: map[string]*config.Service{"s@file": lbService(a)},
		Middlewares: map[string]*config.Middleware{"tag@file": {Headers: &config.Headers{
			CustomResponseHeaders: map[string]string{"X-Entry-Point": "websecure"}}}},
	}}
	opts := BuildOptions{EntryPoints: []EntryPoint{{Name: "web"}, {Name: "websecure", Middlewares: []string{"tag"}}},
		Transports: NewTransports(), Log: zap.NewNop()}
	tbl := Build(Input{Config: cfg}, opts)
	if ps := tbl.Problems(); len(ps) > 0 {
		t.Fatalf("problems: %+v", ps)
	}
	sw := &Switcher{log: zap.NewNop(), entryPoints: opts.EntryPoints}
	sw.table.Store(tbl)
	for ep, want := range []string{"", "websecure"} {
		rec := httptest.NewRecorder()
		sw.Handler(ep, false).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://example.com/", nil))
		if rec.Code != http.StatusOK || rec.Header().Get("X-Entry-Point") != want || rec.Header().Get("X-Test-Backend") != "a" {
			t.Errorf("entry point %d: %d, X-Entry-Point %q", ep, rec.Code, rec.Header().Get("X-Entry-Point"))
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
