package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/metrics"
)

func TestSwitcherMetrics(t *testing.T) {
	reg := metrics.New(metrics.Options{EntryPoints: true, Routers: true, Services: true})
	ok := backend(t, "ok")
	sw := NewSwitcher(zap.NewNop(), SwitcherOptions{EntryPoints: []EntryPoint{{Name: "web"}}, Transports: NewTransports(),
		Metrics: reg, Internal: func(*Switcher) map[string]http.Handler {
			return map[string]http.Handler{"prometheus@internal": reg.Handler()}
		}})
	defer sw.Close()
	attempts := 2
	sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"app":     {Rule: "Host(`app.test`)", Service: "app"},
			"flaky":   {Rule: "Host(`flaky.test`)", Service: "flaky", Middlewares: []string{"retry"}},
			"metrics": {Rule: "Host(`metrics.test`)", Service: "prometheus@internal"},
			"broken":  {Rule: "Host(`broken.test`", Service: "app"},
			"nope":    {Rule: "Host(`nope.test`)", Service: "api@internal"},
		},
		Services: map[string]*config.Service{
			"app":   lbService(ok),
			"flaky": lbService("http://127.0.0.1:1", ok),
		},
		Middlewares: map[string]*config.Middleware{"retry": {Retry: &config.Retry{Attempts: attempts}}},
	}}})
	h := sw.Handler(0, false)
	do := func(host string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	for range 5 {
		do("app.test")
	}
	for range 4 {
		do("flaky.test") // wrr: each request starts on the refusing server, then retries
	}
	do("none.test")
	code, out := do("metrics.test")
	if code != 200 {
		t.Fatalf("prometheus@internal through a router: %d", code)
	}
	if c, _ := do("nope.test"); c != http.StatusNotFound {
		t.Fatalf("router to an internal service that is not enabled: %d, want 404", c)
	}
	for _, want := range []string{
		`ferry_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 9`,
		`ferry_entrypoint_requests_total{code="404",entrypoint="web",method="GET",protocol="http"} 1`,
		`ferry_router_requests_total{code="200",method="GET",protocol="http",router="app",service="app"} 5`,
		`ferry_service_requests_total{code="200",method="GET",protocol="http",service="flaky"} 4`,
		`ferry_service_retries_total{service="flaky"} 4`,
		`ferry_config_objects{kind="router",provider="",status="disabled"} 2`,
		`ferry_config_objects{kind="router",provider="",status="enabled"} 3`,
		`ferry_config_reloads_total 1`,
		`ferry_service_server_up{service="app",url="` + ok + `"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A router that leaves takes its series along.
	sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"metrics": {Rule: "Host(`metrics.test`)", Service: "prometheus@internal"}},
		Services: map[string]*config.Service{},
	}}})
	_, out = do("metrics.test")
	if strings.Contains(out, `router="app"`) || strings.Contains(out, `service="flaky"`) {
		t.Errorf("series of removed routers and services remain")
	}
	if t.Failed() {
		t.Log(out)
	}
}
