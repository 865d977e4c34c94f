package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

func liveSwitcher(t *testing.T) *router.Switcher {
	t.Helper()
	sw := router.NewSwitcher(zap.NewNop(), router.SwitcherOptions{
		EntryPoints: []router.EntryPoint{{Name: "web"}}, Transports: router.NewTransports(),
	})
	t.Cleanup(sw.Close)
	sw.Apply(router.Input{Config: &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"good@file": {Rule: "Host(`app.test`)", Service: "app@file"},
			"bad@file":  {Rule: "Host(`app.test`) && PathPrefix(`/x`)", Service: "app@file", Middlewares: []string{"typo@file"}},
		},
		Services: map[string]*config.Service{"app@file": {LoadBalancer: &config.LoadBalancer{
			Servers: []config.Server{{URL: "http://127.0.0.1:1"}}}}},
	}}})
	return sw
}

func TestOverview(t *testing.T) {
	sw := liveSwitcher(t)
	sw.ProviderUpdated("file")
	h := Handler(sw)
	var o Overview
	if err := json.Unmarshal([]byte(get(t, h, "/api/overview")), &o); err != nil {
		t.Fatal(err)
	}
	if o.HTTP.Routers != (StatusCount{Enabled: 1, Disabled: 1}) || o.HTTP.Services != (StatusCount{Enabled: 1}) {
		t.Errorf("counts: %+v", o.HTTP)
	}
	if len(o.Providers) != 1 || o.Providers[0].Name != "file" || o.Providers[0].LastUpdate == nil || o.Providers[0].Problems != 1 {
		t.Errorf("providers: %+v", o.Providers)
	}
	if o.ProblemsTotal != 1 || !strings.Contains(o.Problems[0].Message, "typo@file") {
		t.Errorf("problems: %+v", o.Problems)
	}
	if len(o.EntryPoints) != 1 || o.EntryPoints[0].Name != "web" || o.Requests.Rate != nil {
		t.Errorf("entry points: %+v, requests %+v", o.EntryPoints, o.Requests)
	}
}

func TestRater(t *testing.T) {
	r := &rater{}
	t0 := time.Now()
	at := func(d time.Duration, n uint64) *router.Stats {
		return r.sample(router.Stats{Time: t0.Add(d), EntryPoints: map[string]router.EntryPointStats{"web": {Requests: n}}})
	}
	if at(0, 0) != nil || at(600*time.Millisecond, 10) != nil {
		t.Fatal("a rate over less than a second")
	}
	prev := at(2*time.Second, 40)
	if prev == nil || !prev.Time.Equal(t0.Add(600*time.Millisecond)) {
		t.Fatalf("want the newest read a second old, got %+v", prev)
	}
	rate, _ := perSecond(router.EntryPointStats{Requests: 40}, prev.EntryPoints["web"], 1400*time.Millisecond)
	if rate == nil || *rate < 21 || *rate > 22 {
		t.Errorf("rate %v, want 30/1.4s", rate)
	}
}

func TestExplainEndpoint(t *testing.T) {
	h := Handler(liveSwitcher(t))
	q := url.Values{"url": {"http://app.test/x/y"}, "header": {"X-Env: prod"}, "clientIP": {"192.0.2.1"}}
	var ex router.Explanation
	if err := json.Unmarshal([]byte(get(t, h, "/api/explain?"+q.Encode())), &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.EntryPoints) != 1 || ex.EntryPoints[0].Winner == nil || ex.EntryPoints[0].Winner.Router != "good@file" {
		t.Fatalf("explanation: %+v", ex)
	}
	if len(ex.Disabled) != 1 || !strings.Contains(ex.Disabled[0].Detail, `middleware "typo@file" does not exist`) {
		t.Errorf("disabled: %+v", ex.Disabled)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/explain?url=ftp://x", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"message"`) {
		t.Errorf("bad url: %d %s", rec.Code, rec.Body)
	}
}

// TestEvents follows the stream while a configuration is applied.
func TestEvents(t *testing.T) {
	sw := liveSwitcher(t)
	srv := httptest.NewServer(Handler(sw))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || lines.Text() != "retry: 1000" {
		t.Fatalf("first line %q", lines.Text())
	}
	start := time.Now()
	sw.Apply(router.Input{Config: &config.Config{}})
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			var c Change
			if err := json.Unmarshal([]byte(data), &c); err != nil || !c.Config || c.Seq != 1 {
				t.Fatalf("change %q: %+v %v", data, c, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("change seen after %s", d)
			}
			return
		}
	}
	t.Fatalf("stream ended: %v", lines.Err())
}

// TestEventsEndOnShutdown checks that an open stream does not hold a
// graceful shutdown until its deadline.
func TestEventsEndOnShutdown(t *testing.T) {
	srv := httptest.NewServer(Handler(liveSwitcher(t)))
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s", d)
	}
}
