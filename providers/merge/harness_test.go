package merge_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/merge"
	"github.com/ferryproxy/ferry/router/config"
)

// fast are short windows for tests where timing does not matter.
var fast = merge.Options{Debounce: 20 * time.Millisecond, MaxWait: 100 * time.Millisecond}

const patience = 2 * time.Second

// harness runs a Merger on a real channel and records every applied snapshot.
type harness struct {
	in     chan providers.Update
	snaps  chan *merge.Snapshot
	done   chan struct{}
	cancel context.CancelFunc
}

// start runs a Merger; hook, when not nil, runs inside apply before the
// snapshot is recorded.
func start(t *testing.T, opts merge.Options, log *zap.Logger, hook func(*merge.Snapshot)) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{
		in:     make(chan providers.Update),
		snaps:  make(chan *merge.Snapshot, 1000),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	go func() {
		defer close(h.done)
		merge.New(log, opts).Run(ctx, h.in, func(s *merge.Snapshot) {
			if hook != nil {
				hook(s)
			}
			h.snaps <- s
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// send hands u to the merger, failing if it is not received within patience.
func (h *harness) send(t *testing.T, u providers.Update) {
	t.Helper()
	select {
	case h.in <- u:
	case <-time.After(patience):
		t.Fatalf("send of %s update blocked", u.Provider)
	}
}

// next waits for the next applied snapshot.
func (h *harness) next(t *testing.T) *merge.Snapshot {
	t.Helper()
	select {
	case s := <-h.snaps:
		return s
	case <-time.After(patience):
		t.Fatal("no snapshot applied")
		return nil
	}
}

// finish closes the input, waits for Run to return and returns the
// snapshots applied and not yet taken with next.
func (h *harness) finish(t *testing.T) []*merge.Snapshot {
	t.Helper()
	close(h.in)
	h.wait(t)
	var out []*merge.Snapshot
	for {
		select {
		case s := <-h.snaps:
			out = append(out, s)
		default:
			return out
		}
	}
}

func (h *harness) wait(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(patience):
		t.Fatal("Run did not return")
	}
}

// dockerConfig is a typical provider view: one router using a local
// middleware, one from the file provider, and a local service.
func dockerConfig(rule string) *config.Config {
	return &config.Config{HTTP: config.HTTP{
		Routers: map[string]*config.Router{
			"web": {Rule: rule, Service: "svc", Middlewares: []string{"auth@file", "strip"}},
		},
		Services: map[string]*config.Service{
			"svc": {LoadBalancer: &config.LoadBalancer{Servers: []config.Server{{URL: "http://127.0.0.1:8080"}}}},
		},
		Middlewares: map[string]*config.Middleware{
			"strip": {StripPrefix: &config.StripPrefix{Prefixes: []string{"/api"}}},
		},
	}}
}

func fileConfig() *config.Config {
	return &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"api": {Rule: "Host(`api.example.com`)", Service: "svc@docker"},
			},
			Middlewares: map[string]*config.Middleware{
				"auth": {BasicAuth: &config.BasicAuth{Users: []string{"u:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}}},
			},
		},
		TLS: config.TLS{Certificates: []config.Certificate{{CertFile: "file.crt", KeyFile: "file.key"}}},
	}
}

// gate returns a channel that blocks until open is called; open may be
// called more than once.
func gate(t *testing.T) (release <-chan struct{}, open func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
