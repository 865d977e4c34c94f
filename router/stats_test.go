package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

type countGauge struct{ n int }

func (g *countGauge) Inc() { g.n++ }
func (g *countGauge) Dec() { g.n-- }

func TestStats(t *testing.T) {
	sw := NewSwitcher(zap.NewNop(), SwitcherOptions{EntryPoints: []EntryPoint{{Name: "web"}, {Name: "websecure"}}, Transports: NewTransports()})
	defer sw.Close()
	ok, fail := backend(t, "a"), httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer fail.Close()
	sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"ok":   {Rule: "Path(`/ok`)", Service: "ok"},
			"fail": {Rule: "Path(`/fail`)", Service: "fail"},
		},
		Services: map[string]*config.Service{"ok": lbService(ok), "fail": lbService(fail.URL)},
	}}})
	for _, p := range []string{"/ok", "/ok", "/fail", "/missing"} {
		sw.Handler(1, false).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://x"+p, nil))
	}
	prom := &countGauge{}
	g := sw.CountConnections("web", "HTTP", prom)
	g.Inc()
	g.Inc()
	g.Dec()
	sw.CountConnections("web", "TCP", nil).Inc()
	sw.ProviderUpdated("file")

	st := sw.Stats()
	if got := st.EntryPoints["websecure"]; got.Requests != 4 || got.ServerErrors != 1 || got.ClientErrors != 1 {
		t.Errorf("websecure counters: %+v", got)
	}
	if got := st.EntryPoints["web"].Connections; got["HTTP"] != 1 || got["TCP"] != 1 || prom.n != 1 {
		t.Errorf("connections: %v, passed on: %d", got, prom.n)
	}
	if st.ProviderUpdates["file"].IsZero() {
		t.Error("provider update not recorded")
	}
}

func TestHealthDigestFollowsHealth(t *testing.T) {
	cfg := &config.Config{HTTP: config.HTTP{Services: map[string]*config.Service{
		"a": lbService("http://127.0.0.1:1", "http://127.0.0.1:2"), "b": lbService("http://127.0.0.1:3"),
	}}}
	cfg.HTTP.Services["a"].LoadBalancer.PassiveHealthCheck = &config.PassiveHealthCheck{MaxFailedAttempts: 1}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	before := tbl.HealthDigest()
	if tbl.HealthDigest() != before {
		t.Fatal("the digest moves without a change")
	}
	m := tbl.services["a"].lb.members[1]
	m.state.ejection.Failed(*m.passive, "refused", zap.NewNop(), "a", m.url)
	if tbl.HealthDigest() == before {
		t.Error("an ejection does not change the digest")
	}
}

func BenchmarkHealthDigest(b *testing.B) {
	cfg := &config.Config{HTTP: config.HTTP{Services: map[string]*config.Service{}}}
	for i := range 10000 {
		cfg.HTTP.Services[fmt.Sprintf("s%05d", i)] = lbService(fmt.Sprintf("http://127.0.0.1:%d", 20000+i%1000))
	}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	b.ResetTimer()
	for b.Loop() {
		tbl.HealthDigest()
	}
}
