package acme

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

func zapNop() *zap.Logger { return zap.NewNop() }

func TestOnDemandCheck(t *testing.T) {
	tests := []struct {
		name string
		o    OnDemand
		want string
	}{
		{"valid", OnDemand{Ask: "http://127.0.0.1:9/ask", RateLimit: &RateLimit{Burst: 5}}, ""},
		{"no ask", OnDemand{}, "certificatesResolvers.le.acme.onDemand.ask: missing"},
		{"not http", OnDemand{Ask: "ftp://x/ask"}, "onDemand.ask"},
		{"negative burst", OnDemand{Ask: "https://x/ask", RateLimit: &RateLimit{Burst: -1}}, "rateLimit.burst: negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.o.check("certificatesResolvers.le.acme")
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("problems %q", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
	c := Config{TLSChallenge: &TLSChallenge{}, OnDemand: &OnDemand{}}
	if p := c.Check("le", nil); len(p) != 1 || !strings.Contains(p[0], "onDemand.ask: missing") {
		t.Errorf("Config.Check: %q, want onDemand without ask refused", p)
	}
}

func TestWindow(t *testing.T) {
	w := &window{interval: time.Minute, burst: 3}
	now := time.Now()
	for i := 0; i < 3; i++ {
		if !w.allow(now.Add(time.Duration(i) * 10 * time.Second)) {
			t.Fatalf("event %d refused", i)
		}
	}
	if w.allow(now.Add(30 * time.Second)) {
		t.Fatal("fourth event within the minute allowed")
	}
	if !w.allow(now.Add(61 * time.Second)) {
		t.Fatal("event after the first left the window refused")
	}
	if w.allow(now.Add(62 * time.Second)) {
		t.Fatal("an event while the second is still in the window allowed")
	}
}

func TestOnDemandDecide(t *testing.T) {
	var asked sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := r.URL.Query().Get("domain")
		n, _ := asked.LoadOrStore(d, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		switch {
		case r.URL.Query().Get("tenant") != "7":
			w.WriteHeader(http.StatusBadRequest) // the ask URL's own query is kept
		case d == "ok.example.com":
			w.WriteHeader(http.StatusOK)
		case d == "moved.example.com":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	ask, _ := url.Parse(srv.URL + "/ask?tenant=7")
	var allowed []string
	od := &onDemand{log: zapNop(), ask: ask, client: &http.Client{Timeout: time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		slots: make(chan struct{}, 2), decisions: map[string]decision{},
		onAllowed: func(_ context.Context, name string) { allowed = append(allowed, name) }}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := od.decide(ctx, "OK.example.com"); err != nil {
			t.Fatalf("allowed name: %v", err)
		}
		if err := od.decide(ctx, "no.example.com"); err == nil || !strings.Contains(err.Error(), "no.example.com") {
			t.Fatalf("refused name: %v", err)
		}
		if err := od.decide(ctx, "moved.example.com"); err == nil {
			t.Fatal("a redirect allowed the name")
		}
	}
	for _, n := range []string{"ok.example.com", "no.example.com", "moved.example.com"} {
		v, _ := asked.Load(n)
		if v == nil || v.(*atomic.Int32).Load() != 1 {
			t.Errorf("%s asked %v times, want 1 (decisions are cached)", n, v)
		}
	}
	if strings.Join(allowed, ",") != "ok.example.com,ok.example.com,ok.example.com" {
		t.Errorf("onAllowed told %v", allowed)
	}
}

func TestOnDemandEvict(t *testing.T) {
	od := &onDemand{decisions: map[string]decision{}}
	now := time.Now()
	for i := 0; i < maxDecisions; i++ {
		od.decisions[strings.Repeat("x", i%7)+time.Duration(i).String()] = decision{until: now.Add(time.Duration(i) * time.Second)}
	}
	od.decisions["expired"] = decision{until: now.Add(-time.Second)}
	od.evict(now)
	if len(od.decisions) >= maxDecisions {
		t.Fatalf("%d decisions after evict, want fewer than %d", len(od.decisions), maxDecisions)
	}
	if _, ok := od.decisions["expired"]; ok {
		t.Fatal("expired decision kept")
	}
}
