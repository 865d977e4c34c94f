package merge_test

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/merge"
	"github.com/ferryproxy/ferry/router/config"
)

func TestSingleUpdateQualifiesNames(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := start(t, fast, zap.New(core), nil)
	h.send(t, providers.Update{Provider: "docker", Config: dockerConfig("Host(`a.example.com`)")})
	s := h.next(t)

	r := s.Config.HTTP.Routers["web@docker"]
	if r == nil {
		t.Fatalf("router web@docker missing; routers: %v", keys(s.Config.HTTP.Routers))
	}
	if r.Service != "svc@docker" {
		t.Errorf("service = %q, want svc@docker", r.Service)
	}
	if want := []string{"auth@file", "strip@docker"}; !slices.Equal(r.Middlewares, want) {
		t.Errorf("middlewares = %v, want %v", r.Middlewares, want)
	}
	if _, ok := s.Config.HTTP.Services["svc@docker"]; !ok {
		t.Errorf("service svc@docker missing; services: %v", keys(s.Config.HTTP.Services))
	}
	if _, ok := s.Config.HTTP.Middlewares["strip@docker"]; !ok {
		t.Errorf("middleware strip@docker missing; middlewares: %v", keys(s.Config.HTTP.Middlewares))
	}
	if !slices.Equal(s.Providers, []string{"docker"}) {
		t.Errorf("providers = %v, want [docker]", s.Providers)
	}
	if s.Generation != 1 {
		t.Errorf("generation = %d, want 1", s.Generation)
	}
	if rest := h.finish(t); len(rest) != 0 {
		t.Errorf("%d more snapshots applied, want none", len(rest))
	}

	merged := logs.FilterMessage("configuration merged").All()
	if len(merged) != 1 {
		t.Fatalf("%d info logs for merged snapshots, want 1", len(merged))
	}
	fields := merged[0].ContextMap()
	for name, want := range map[string]int64{"routers": 1, "services": 1, "middlewares": 1, "providers": 1} {
		if got := fields[name]; got != want {
			t.Errorf("log field %s = %v, want %d", name, got, want)
		}
	}
	if _, ok := fields["delay"]; !ok {
		t.Error("log has no delay field")
	}
}

func TestTwoProvidersMerged(t *testing.T) {
	h := start(t, fast, nil, nil)
	dockerCfg := dockerConfig("Host(`a.example.com`)")
	dockerCfg.TLS.Certificates = []config.Certificate{{CertFile: "docker.crt", KeyFile: "docker.key"}}
	h.send(t, providers.Update{Provider: "file", Config: fileConfig()})
	h.send(t, providers.Update{Provider: "docker", Config: dockerCfg})
	snaps := h.finish(t)
	if len(snaps) == 0 {
		t.Fatal("no snapshot applied")
	}
	s := snaps[len(snaps)-1]

	if want := []string{"api@file", "web@docker"}; !slices.Equal(keys(s.Config.HTTP.Routers), want) {
		t.Errorf("routers = %v, want %v", keys(s.Config.HTTP.Routers), want)
	}
	if want := []string{"auth@file", "strip@docker"}; !slices.Equal(keys(s.Config.HTTP.Middlewares), want) {
		t.Errorf("middlewares = %v, want %v", keys(s.Config.HTTP.Middlewares), want)
	}
	if got := s.Config.HTTP.Routers["api@file"].Service; got != "svc@docker" {
		t.Errorf("api@file service = %q, want svc@docker", got)
	}
	if !slices.Equal(s.Providers, []string{"docker", "file"}) {
		t.Errorf("providers = %v, want [docker file]", s.Providers)
	}
	// Certificates follow the sorted provider order, whatever the order of arrival.
	var certs []string
	for _, c := range s.Config.TLS.Certificates {
		certs = append(certs, c.CertFile)
	}
	if want := []string{"docker.crt", "file.crt"}; !slices.Equal(certs, want) {
		t.Errorf("certificates = %v, want %v", certs, want)
	}
	if errs := config.Validate(s.Config); len(errs) != 0 {
		t.Errorf("merged config does not validate: %v", errs)
	}
}

func TestUnchangedUpdateDropped(t *testing.T) {
	first := func() providers.Update {
		c := dockerConfig("Host(`a.example.com`)")
		c.HTTP.Middlewares = nil
		c.HTTP.Routers["web"].Middlewares = []string{"auth@file"}
		return providers.Update{
			Provider: "docker",
			Config:   c,
			Problems: []config.Problem{
				{Kind: config.KindSource, Name: "b", Message: "bad label"},
				{Kind: config.KindSource, Name: "a", Message: "bad label"},
			},
		}
	}
	tests := []struct {
		name      string
		second    func() providers.Update
		wantSnaps int
	}{
		{"same content, new values", first, 1},
		{"empty maps instead of nil", func() providers.Update {
			u := first()
			u.Config.HTTP.Middlewares = map[string]*config.Middleware{}
			u.Origins = map[config.ObjectID]string{}
			return u
		}, 1},
		{"problems in another order", func() providers.Update {
			u := first()
			slices.Reverse(u.Problems)
			return u
		}, 1},
		{"rule changed", func() providers.Update {
			u := first()
			u.Config.HTTP.Routers["web"].Rule = "Host(`b.example.com`)"
			return u
		}, 2},
		{"problem removed", func() providers.Update {
			u := first()
			u.Problems = u.Problems[:1]
			return u
		}, 2},
		{"origin added", func() providers.Update {
			u := first()
			u.Origins = map[config.ObjectID]string{{Kind: config.KindRouter, Name: "web"}: "container app"}
			return u
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			h := start(t, fast, zap.New(core), nil)
			h.send(t, first())
			h.next(t)
			h.send(t, tt.second())
			got := 1 + len(h.finish(t))
			if got != tt.wantSnaps {
				t.Errorf("%d snapshots applied, want %d", got, tt.wantSnaps)
			}
			dropped := logs.FilterMessage("unchanged update dropped").Len()
			if wantDropped := 2 - tt.wantSnaps; dropped != wantDropped {
				t.Errorf("%d updates logged as dropped, want %d", dropped, wantDropped)
			}
		})
	}
}

func TestBurstCoalesced(t *testing.T) {
	// A generous quiet window, so that the 20 sends surely fall inside it.
	h := start(t, merge.Options{Debounce: 300 * time.Millisecond, MaxWait: 5 * time.Second}, nil, nil)
	for i := range 20 {
		h.send(t, providers.Update{Provider: "docker", Config: dockerConfig(fmt.Sprintf("Host(`%d.example.com`)", i))})
	}
	s := h.next(t)
	if got, want := s.Config.HTTP.Routers["web@docker"].Rule, "Host(`19.example.com`)"; got != want {
		t.Errorf("rule = %q, want %q", got, want)
	}
	if rest := h.finish(t); len(rest) != 0 {
		t.Errorf("%d more snapshots applied, want exactly one", len(rest))
	}
}

func TestChattyProviderCannotStarveOthers(t *testing.T) {
	h := start(t, merge.Options{Debounce: 50 * time.Millisecond, MaxWait: 100 * time.Millisecond}, nil, nil)
	h.send(t, providers.Update{Provider: "file", Config: fileConfig()})

	// docker changes every 2ms, well inside the quiet window, for 600ms:
	// without MaxWait nothing would be emitted until the stream ends.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	end := time.After(600 * time.Millisecond)
	var during []*merge.Snapshot
stream:
	for i := 0; ; i++ {
		select {
		case <-end:
			break stream
		case s := <-h.snaps:
			during = append(during, s)
		case <-tick.C:
			h.send(t, providers.Update{Provider: "docker", Config: dockerConfig(fmt.Sprintf("Host(`%d.example.com`)", i))})
		}
	}
	h.finish(t)

	if len(during) < 3 {
		t.Fatalf("%d snapshots during a 600ms stream with MaxWait 100ms, want at least 3", len(during))
	}
	for _, s := range during {
		if _, ok := s.Config.HTTP.Routers["api@file"]; !ok {
			t.Errorf("generation %d lacks api@file; routers: %v", s.Generation, keys(s.Config.HTTP.Routers))
		}
	}
	if last := during[len(during)-1]; !slices.Equal(last.Providers, []string{"docker", "file"}) {
		t.Errorf("providers = %v, want [docker file]", last.Providers)
	}
}

func TestSlowApplyNeverBlocksProviders(t *testing.T) {
	started := make(chan struct{}, 100)
	release, open := gate(t)
	h := start(t, fast, nil, func(*merge.Snapshot) {
		started <- struct{}{}
		<-release
	})
	t.Cleanup(open)
	rule := func(i int) string { return fmt.Sprintf("Host(`%d.example.com`)", i) }
	h.send(t, providers.Update{Provider: "docker", Config: dockerConfig(rule(0))})
	select {
	case <-started:
	case <-time.After(patience):
		t.Fatal("apply not called")
	}
	// apply is blocked until release: every send must still be received,
	// and several snapshots are emitted meanwhile (MaxWait is 100ms).
	for i := 1; i <= 10; i++ {
		h.send(t, providers.Update{Provider: "docker", Config: dockerConfig(rule(i))})
		time.Sleep(15 * time.Millisecond)
	}
	open()
	snaps := h.finish(t)

	if len(snaps) < 2 || len(snaps) > 3 {
		t.Fatalf("%d snapshots applied, want the first, the newest pending and at most one flushed", len(snaps))
	}
	if got := snaps[0].Config.HTTP.Routers["web@docker"].Rule; got != rule(0) {
		t.Errorf("first apply saw %q, want %q", got, rule(0))
	}
	if got := snaps[len(snaps)-1].Config.HTTP.Routers["web@docker"].Rule; got != rule(10) {
		t.Errorf("last apply saw %q, want %q", got, rule(10))
	}
	for i := 1; i < len(snaps); i++ {
		if snaps[i].Generation <= snaps[i-1].Generation {
			t.Errorf("generation %d follows %d", snaps[i].Generation, snaps[i-1].Generation)
		}
	}
}

func TestProblemsAndOriginsQualified(t *testing.T) {
	h := start(t, fast, nil, nil)
	h.send(t, providers.Update{
		Provider: "docker",
		Config:   dockerConfig("Host(`a.example.com`)"),
		Problems: []config.Problem{
			{Kind: config.KindSource, Name: "container db", Message: "unknown label"},
			{Kind: config.KindRouter, Name: "web", Field: "priority", Message: "not a number"},
			{Kind: config.KindMiddleware, Name: "auth@file", Message: "bad option", Origin: "label"},
		},
		Origins: map[config.ObjectID]string{
			{Kind: config.KindRouter, Name: "web"}:          "container app",
			{Kind: config.KindService, Name: "svc"}:         "container app",
			{Kind: config.KindSource, Name: "container db"}: "container db",
		},
	})
	h.send(t, providers.Update{
		Provider: "file",
		Config:   fileConfig(),
		Problems: []config.Problem{{Kind: config.KindService, Name: "broken", Message: "no loadBalancer"}},
	})
	snaps := h.finish(t)
	if len(snaps) == 0 {
		t.Fatal("no snapshot applied")
	}
	s := snaps[len(snaps)-1]

	wantProblems := []config.Problem{
		{Kind: config.KindMiddleware, Name: "auth@file", Message: "bad option", Origin: "label"},
		{Kind: config.KindRouter, Name: "web@docker", Field: "priority", Message: "not a number", Origin: "container app"},
		{Kind: config.KindService, Name: "broken@file", Message: "no loadBalancer"},
		{Kind: config.KindSource, Name: "container db", Message: "unknown label", Origin: "container db"},
	}
	if !reflect.DeepEqual(s.Problems, wantProblems) {
		t.Errorf("problems:\n got %v\nwant %v", s.Problems, wantProblems)
	}
	wantOrigins := map[config.ObjectID]string{
		{Kind: config.KindRouter, Name: "web@docker"}:   "container app",
		{Kind: config.KindService, Name: "svc@docker"}:  "container app",
		{Kind: config.KindSource, Name: "container db"}: "container db",
		{Kind: config.KindRouter, Name: "web@file"}:     "",
		{Kind: config.KindRouter, Name: "web"}:          "",
		{Kind: config.KindService, Name: "broken@file"}: "",
	}
	for id, want := range wantOrigins {
		if got := s.Origins.Origin(id); got != want {
			t.Errorf("origin of %v = %q, want %q", id, got, want)
		}
	}
}

func TestShutdown(t *testing.T) {
	slow := merge.Options{Debounce: time.Hour, MaxWait: time.Hour}
	update := providers.Update{Provider: "docker", Config: dockerConfig("Host(`a.example.com`)")}
	tests := []struct {
		name      string
		stop      func(h *harness)
		wantSnaps int
	}{
		// Closing the input applies what is still inside the debounce window.
		{"input closed", func(h *harness) { close(h.in) }, 1},
		// Ending the context drops it.
		{"context ended", func(h *harness) { h.cancel() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			h := start(t, slow, nil, nil)
			h.send(t, update)
			tt.stop(h)
			h.wait(t)
			if got := len(h.snaps); got != tt.wantSnaps {
				t.Errorf("%d snapshots applied, want %d", got, tt.wantSnaps)
			}
			deadline := time.Now().Add(patience)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("%d goroutines after Run returned, %d before", after, before)
			}
		})
	}
}

func TestCancelWaitsForApply(t *testing.T) {
	entered := make(chan struct{}, 1)
	release, open := gate(t)
	h := start(t, fast, nil, func(*merge.Snapshot) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	})
	t.Cleanup(open)
	h.send(t, providers.Update{Provider: "docker", Config: dockerConfig("Host(`a.example.com`)")})
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("apply not called")
	}
	h.cancel()
	select {
	case <-h.done:
		t.Fatal("Run returned while apply was still running")
	case <-time.After(50 * time.Millisecond):
	}
	open()
	h.wait(t)
}

func TestUpdateWithoutProviderDropped(t *testing.T) {
	h := start(t, fast, nil, nil)
	h.send(t, providers.Update{Config: dockerConfig("Host(`a.example.com`)")})
	h.send(t, providers.Update{Provider: "file", Config: nil})
	snaps := h.finish(t)
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots applied, want 1", len(snaps))
	}
	s := snaps[0]
	if !slices.Equal(s.Providers, []string{"file"}) {
		t.Errorf("providers = %v, want [file]", s.Providers)
	}
	if len(s.Config.HTTP.Routers) != 0 {
		t.Errorf("routers = %v, want none", keys(s.Config.HTTP.Routers))
	}
}
