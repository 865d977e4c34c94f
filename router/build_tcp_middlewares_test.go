package router

import (
	"slices"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
	"github.com/ferryproxy/ferry/router/tcp"
)

// TestBuildTCPMiddlewares: a TCP router gets its middlewares in order; one
// naming a missing or invalid middleware is disabled with the reason, and
// an unchanged middleware keeps its instance (and its counts) across builds.
func TestBuildTCPMiddlewares(t *testing.T) {
	cfg := func(amount int64) *config.Config {
		return &config.Config{TCP: config.TCP{
			Routers: map[string]*config.TCPRouter{
				"ok":      {Rule: "HostSNI(`*`)", Service: "pg", EntryPoints: []string{"web"}, Middlewares: []string{"office", "two"}},
				"missing": {Rule: "HostSNI(`*`)", Service: "pg", EntryPoints: []string{"web"}, Middlewares: []string{"nope"}},
				"invalid": {Rule: "HostSNI(`*`)", Service: "pg", EntryPoints: []string{"web"}, Middlewares: []string{"bad"}},
			},
			Services: map[string]*config.TCPService{"pg": tcpLB("127.0.0.1:5432")},
			Middlewares: map[string]*config.TCPMiddleware{
				"office": {IPAllowList: &config.TCPIPAllowList{SourceRange: []string{"10.0.0.0/8", "::1"}}},
				"two":    {InFlightConn: &config.TCPInFlightConn{Amount: amount}},
				"bad":    {IPAllowList: &config.TCPIPAllowList{SourceRange: []string{"10.0.0.0/33"}}},
			},
		}}
	}
	t1 := Build(Input{Config: cfg(2)}, testOptions(nil))
	var got []string
	for _, p := range t1.Problems() {
		got = append(got, p.Error())
	}
	want := []string{
		`tcpMiddleware bad: ipAllowList.sourceRange[0]: invalid CIDR "10.0.0.0/33"`,
		`tcpRouter invalid: middlewares[0]: TCP middleware "bad" is disabled`,
		`tcpRouter missing: middlewares[0]: TCP middleware "nope" does not exist`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n%q\nwant\n%q", got, want)
	}
	route := func(tbl *Table) *tcp.Route { return tbl.tcpRoutes(0).MatchPlain(&rule.TCPRequest{}) }
	if r := route(t1); r == nil || r.Name != "ok" {
		t.Fatalf("route on web: %+v, want router ok", r)
	}
	g := route(t1).Guards
	if len(g) != 2 || g[0].Name != "office" || g[1].Name != "two" {
		t.Fatalf("guards %+v, want office then two", g)
	}
	infos := t1.TCPMiddlewares()
	if len(infos) != 3 || infos[0].Name != "bad" || infos[0].Status != StatusDisabled || infos[1].Status != StatusEnabled ||
		!slices.Equal(infos[1].UsedBy, []string{"ok"}) {
		t.Fatalf("API view %+v", infos)
	}
	t2 := Build(Input{Config: cfg(2)}, testOptions(t1))
	if route(t2).Guards[1].Guard != g[1].Guard {
		t.Fatal("an unchanged inFlightConn was rebuilt: its counts are lost")
	}
	t3 := Build(Input{Config: cfg(3)}, testOptions(t2))
	if route(t3).Guards[1].Guard == g[1].Guard {
		t.Fatal("a changed inFlightConn kept its old instance")
	}
}
