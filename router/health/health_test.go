package health

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/router/config"
)

// waitState polls c until it reaches want, failing after a bound.
func waitState(t *testing.T, c *Checker, want State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("checker state %s, want %s (last error %q)", c.State(), want, c.Status().LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastCheck(hc config.HealthCheck) Check {
	if hc.Interval == 0 {
		hc.Interval = config.Duration(10 * time.Millisecond)
	}
	if hc.Timeout == 0 {
		hc.Timeout = config.Duration(200 * time.Millisecond)
	}
	return Resolve(&hc)
}

func TestCheckerFollowsServer(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var probes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || r.Host != "check.internal" || r.Header.Get("X-Probe") != "1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		probes.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	core, logs := observer.New(zapcore.InfoLevel)
	reg := NewRegistry(zap.New(core), Options{})
	defer reg.Close()
	check := fastCheck(config.HealthCheck{Path: "/health", Hostname: "check.internal", Headers: map[string]string{"X-Probe": "1"}})
	c, err := reg.Checker(KeyOf("svc", check, srv.URL), check, Pending)
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != Pending {
		t.Fatalf("new checker %s, want PENDING before it runs", c.State())
	}
	reg.Sync([]*Checker{c})
	waitState(t, c, Up)
	healthy.Store(false)
	waitState(t, c, Down)
	if st := c.Status(); !strings.Contains(st.LastError, "status 503") || st.LastChange.IsZero() {
		t.Fatalf("status %+v, want the 503 as last error and a change time", st)
	}
	// Several more failed probes: still one log line for the change.
	for n := probes.Load(); probes.Load() < n+3; {
		time.Sleep(5 * time.Millisecond)
	}
	healthy.Store(true)
	waitState(t, c, Up)
	if n := logs.FilterMessage("server failed its health check").Len(); n != 1 {
		t.Fatalf("UP->DOWN logged %d times, want once", n)
	}
	if n := logs.FilterMessage("server passed its health check").Len(); n != 1 {
		t.Fatalf("DOWN->UP logged %d times, want once", n)
	}
}

func TestProbeOutcomes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/redirect":
			http.Redirect(w, r, "/gone", http.StatusFound)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	refused := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}()
	_, srvPort, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(srvPort)
	no := false
	tests := []struct {
		name    string
		url     string
		hc      config.HealthCheck
		wantErr string // "" passes
	}{
		{"ok", srv.URL, config.HealthCheck{}, ""},
		{"refused", refused, config.HealthCheck{}, "connection refused"},
		{"timeout", srv.URL, config.HealthCheck{Path: "/slow", Timeout: config.Duration(50 * time.Millisecond)}, "no answer within 50ms"},
		{"redirect followed", srv.URL, config.HealthCheck{Path: "/redirect"}, "status 410"},
		{"redirect not followed", srv.URL, config.HealthCheck{Path: "/redirect", FollowRedirects: &no}, ""},
		{"status range", srv.URL, config.HealthCheck{Path: "/teapot", Status: "400-499"}, ""},
		{"status exact mismatch", srv.URL, config.HealthCheck{Path: "/teapot", Status: "200"}, "status 418, want 200-200"},
		{"port override", refused, config.HealthCheck{Port: port}, ""},
	}
	reg := NewRegistry(zap.NewNop(), Options{})
	defer reg.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := fastCheck(tt.hc)
			c, err := reg.Checker(KeyOf(tt.name, check, tt.url), check, Pending)
			if err != nil {
				t.Fatal(err)
			}
			err = c.probe(t.Context(), reg.clients)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("probe failed: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("probe error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegistrySharesAndStopsCheckers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	reg := NewRegistry(zap.NewNop(), Options{})
	defer reg.Close()
	check := fastCheck(config.HealthCheck{})
	a, _ := reg.Checker(KeyOf("svc", check, srv.URL), check, Pending)
	b, _ := reg.Checker(KeyOf("svc", check, srv.URL), check, Pending)
	if a != b {
		t.Fatal("same key gave two checkers")
	}
	other := fastCheck(config.HealthCheck{Path: "/other"})
	c, _ := reg.Checker(KeyOf("svc", other, srv.URL), other, Up)
	if c == a || c.State() != Up {
		t.Fatalf("a different check must be its own checker, starting in the given state (got %s)", c.State())
	}
	reg.Sync([]*Checker{a, c})
	if n := reg.Running(); n != 2 {
		t.Fatalf("running %d, want 2", n)
	}
	reg.Sync([]*Checker{c})
	if n := reg.Running(); n != 1 {
		t.Fatalf("running %d after dropping one, want 1", n)
	}
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		t.Fatal("dropped checker still runs")
	}
	reg.Close()
	if n := reg.Running(); n != 0 {
		t.Fatalf("running %d after Close", n)
	}
}

func TestStartHealthy(t *testing.T) {
	reg := NewRegistry(zap.NewNop(), Options{})
	defer reg.Close()
	check := fastCheck(config.HealthCheck{StartHealthy: true})
	c, _ := reg.Checker(KeyOf("svc", check, "http://127.0.0.1:1"), check, Pending)
	if c.State() != Up {
		t.Fatalf("startHealthy checker %s, want UP", c.State())
	}
}

func TestEjection(t *testing.T) {
	log := zap.NewNop()
	window := 50 * time.Millisecond
	t.Run("ejects after max failures within the window", func(t *testing.T) {
		var e Ejection
		p := Passive{MaxFailedAttempts: 3, FailureWindow: time.Hour}
		e.Failed(p, "x", log, "s", "u")
		e.Failed(p, "x", log, "s", "u")
		if e.Ejected(time.Now().UnixNano()) {
			t.Fatal("ejected after 2 of 3 failures")
		}
		e.Failed(p, "boom", log, "s", "u")
		if !e.Ejected(time.Now().UnixNano()) || e.Status().LastError != "boom" {
			t.Fatalf("not ejected after 3 failures: %+v", e.Status())
		}
	})
	t.Run("failures outside the window do not add up", func(t *testing.T) {
		var e Ejection
		p := Passive{MaxFailedAttempts: 2, FailureWindow: window}
		e.Failed(p, "x", log, "s", "u")
		time.Sleep(2 * window)
		e.Failed(p, "x", log, "s", "u")
		if e.Ejected(time.Now().UnixNano()) {
			t.Fatal("ejected by failures in two windows")
		}
	})
	t.Run("probation: success restores, failure doubles", func(t *testing.T) {
		var e Ejection
		p := Passive{MaxFailedAttempts: 1, FailureWindow: window}
		e.Failed(p, "x", log, "s", "u")
		first := time.Until(e.Status().Until)
		time.Sleep(window + 10*time.Millisecond)
		if e.Ejected(time.Now().UnixNano()) || !e.Active() {
			t.Fatal("after its window the server must be on probation: pickable, ejection still recorded")
		}
		e.Failed(p, "again", log, "s", "u")
		second := time.Until(e.Status().Until)
		if second <= first+window/2 {
			t.Fatalf("second ejection %s not longer than the first %s", second, first)
		}
		time.Sleep(second + 10*time.Millisecond)
		e.Succeeded(log, "s", "u")
		if e.Active() {
			t.Fatal("a success on probation must end the ejection")
		}
	})
}

func TestStatusRangeDefault(t *testing.T) {
	c := Resolve(&config.HealthCheck{})
	if c.StatusMin != 200 || c.StatusMax != 399 || c.Interval != config.DefaultCheckInterval || c.Method != "GET" || c.Path != "/" {
		t.Fatalf("defaults %+v", c)
	}
	if _, _, err := config.StatusRange("299-200").Bounds(); err == nil {
		t.Fatal("reversed range accepted")
	}
}
