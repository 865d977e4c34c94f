package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestWeightedService(t *testing.T) {
	a, b := healthBackend(t, "a"), healthBackend(t, "b")
	three := 3
	h := newLBHarness(t)
	h.apply(&config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "split"}},
		Services: map[string]*config.Service{
			"split": {Weighted: &config.Weighted{Services: []config.WeightedService{{Name: "sa", Weight: &three}, {Name: "sb"}}}},
			"sa":    checked(fastHC("/health"), "", a.url),
			"sb":    lbService(b.url),
		},
	}})
	h.waitServer("sa", a.url, "UP")
	seen := map[string]int{}
	for range 400 {
		_, got, _ := h.get("app.test")
		seen[got]++
	}
	if seen["a"] != 300 || seen["b"] != 100 {
		t.Fatalf("distribution %v, want a=300 b=100", seen)
	}
	a.healthy.Store(false)
	h.waitServer("sa", a.url, "DOWN")
	for range 20 {
		if code, got, _ := h.get("app.test"); code != 200 || got != "b" {
			t.Fatalf("got %d from %q, want every request on the healthy service", code, got)
		}
	}
}

func TestFailoverService(t *testing.T) {
	main1, main2, spare := healthBackend(t, "m1"), healthBackend(t, "m2"), healthBackend(t, "spare")
	h := newLBHarness(t)
	h.apply(&config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "fo"}},
		Services: map[string]*config.Service{
			"fo":    {Failover: &config.Failover{Service: "main", Fallback: "spare"}},
			"main":  checked(fastHC("/health"), "", main1.url, main2.url),
			"spare": lbService(spare.url),
		},
	}})
	h.waitServer("main", main1.url, "UP")
	h.waitServer("main", main2.url, "UP")
	expect := func(want ...string) {
		t.Helper()
		for range 10 {
			_, got, _ := h.get("app.test")
			if !strings.Contains(strings.Join(want, ","), got) || got == "" {
				t.Fatalf("got %q, want one of %v", got, want)
			}
		}
	}
	expect("m1", "m2")
	main1.healthy.Store(false)
	h.waitServer("main", main1.url, "DOWN")
	expect("m2") // one main server left: no failover yet
	main2.healthy.Store(false)
	h.waitServer("main", main2.url, "DOWN")
	expect("spare")
	main2.healthy.Store(true)
	h.waitServer("main", main2.url, "UP")
	expect("m2")
}

func TestMirroring(t *testing.T) {
	mainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Test-Backend", "main")
		_, _ = w.Write(body) // the main server must get the whole body, mirrored or not
	}))
	t.Cleanup(mainSrv.Close)
	main := &hb{url: mainSrv.URL}
	var mirrored atomic.Int64
	var bodies sync.Map
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies.Store(string(body), true)
		mirrored.Add(1)
		<-release // a mirror that answers only when the test ends
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	h := newLBHarness(t)
	small := int64(8)
	h.apply(&config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{"app": {Rule: "Host(`app.test`)", Service: "m"}},
		Services: map[string]*config.Service{
			"m":      {Mirroring: &config.Mirroring{Service: "main", Mirrors: []config.Mirror{{Name: "shadow", Percent: 25}}, MaxBodySize: &small}},
			"main":   lbService(main.url),
			"shadow": lbService(slow.URL),
		},
	}})
	start := time.Now()
	for range 40 {
		if code, got, _ := h.get("app.test"); code != 200 || got != "main" {
			t.Fatalf("main answer %d from %q", code, got)
		}
	}
	elapsed := time.Since(start)
	deadline := time.Now().Add(5 * time.Second)
	for mirrored.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give an 11th copy, if any, the time to arrive
	if n := mirrored.Load(); n != 10 {
		t.Fatalf("mirror received %d of 40 requests, want 25%% = 10", n)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("40 requests took %s with a mirror that never answers", elapsed)
	}

	post := func(body string) int {
		sw := &Switcher{entryPoints: testOptions(nil).EntryPoints}
		sw.table.Store(h.tbl)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "http://app.test/", strings.NewReader(body))
		sw.Handler(0, false).ServeHTTP(rec, req)
		if rec.Body.String() != body {
			t.Fatalf("main server got body %q, want %q", rec.Body.String(), body)
		}
		return rec.Code
	}
	// Requests 41-44: the 44th is mirrored. Small bodies are copied, large ones are not.
	for _, body := range []string{"tiny-1", "tiny-2", "tiny-3", "tiny-4"} {
		if code := post(body); code != 200 {
			t.Fatalf("POST answered %d", code)
		}
	}
	for _, body := range []string{"far-too-large-1", "far-too-large-2", "far-too-large-3", "far-too-large-4"} {
		if code := post(body); code != 200 {
			t.Fatalf("POST answered %d", code)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for mirrored.Load() < 11 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if _, ok := bodies.Load("tiny-4"); !ok || mirrored.Load() != 11 {
		t.Fatalf("mirror got %d requests; want 11 with the body tiny-4 copied and no large body", mirrored.Load())
	}
}

func TestMirrorShareIsExact(t *testing.T) {
	for _, percent := range []uint64{0, 1, 10, 33, 50, 100} {
		m := &mirrorTarget{percent: percent}
		n := 0
		for range 1000 {
			if m.take() {
				n++
			}
		}
		if uint64(n) != percent*10 {
			t.Errorf("%d%%: %d of 1000", percent, n)
		}
	}
}

func TestServiceReferences(t *testing.T) {
	a := backend(t, "a")
	one := 1
	cfg := &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"ok":    {Rule: "Host(`ok.test`)", Service: "w"},
			"cycle": {Rule: "Host(`cycle.test`)", Service: "loop1"},
			"bad":   {Rule: "Host(`bad.test`)", Service: "fo"},
		},
		Services: map[string]*config.Service{
			"w":      {Weighted: &config.Weighted{Services: []config.WeightedService{{Name: "leaf", Weight: &one}}}},
			"leaf":   lbService(a),
			"loop1":  {Weighted: &config.Weighted{Services: []config.WeightedService{{Name: "loop2"}}}},
			"loop2":  {Failover: &config.Failover{Service: "loop1", Fallback: "leaf"}},
			"fo":     {Failover: &config.Failover{Service: "leaf", Fallback: "broken"}},
			"broken": lbService("ftp://x"),
			"ghost":  {Mirroring: &config.Mirroring{Service: "nowhere"}},
		},
	}}
	tbl := Build(Input{Config: cfg}, testOptions(nil))
	want := map[string]string{
		"loop1": "service cycle: loop1 -> loop2 -> loop1",
		"loop2": `failover.service: service "loop1" is disabled`,
		"fo":    `failover.fallback: service "broken" is disabled`,
		"ghost": `mirroring.service: service "nowhere" does not exist`,
	}
	for _, s := range tbl.Services() {
		reason, bad := want[s.Name]
		errs := strings.Join(s.Error, "; ")
		switch {
		case bad && !strings.Contains(errs, reason):
			t.Errorf("service %s: errors %q, want %q", s.Name, errs, reason)
		case !bad && s.Name != "broken" && s.Status != StatusEnabled:
			t.Errorf("service %s disabled: %v", s.Name, s.Error)
		}
	}
	if code, got := serve(t, tbl, 0, false, "ok.test", "/"); code != 200 || got != "a" {
		t.Fatalf("weighted service: %d %q", code, got)
	}
	for _, host := range []string{"cycle.test", "bad.test"} {
		if code, _ := serve(t, tbl, 0, false, host, "/"); code != 404 {
			t.Fatalf("%s: router on a disabled service served %d", host, code)
		}
	}
	// A parent is rebuilt when its child is, and kept when it is not.
	cfg2 := *cfg
	cfg2.HTTP.Services = map[string]*config.Service{}
	for k, v := range cfg.HTTP.Services {
		cfg2.HTTP.Services[k] = v
	}
	next := Build(Input{Config: &cfg2}, testOptions(tbl))
	if next.services["w"] != tbl.services["w"] {
		t.Fatal("unchanged weighted service rebuilt")
	}
	cfg2.HTTP.Services["leaf"] = lbService(a, a)
	third := Build(Input{Config: &cfg2}, testOptions(next))
	if third.services["w"] == next.services["w"] || third.services["w"].children["leaf"] != third.services["leaf"] {
		t.Fatal("weighted service kept a stale child")
	}
}
