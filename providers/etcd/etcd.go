// Package etcd is the etcd provider: dynamic configuration from keys under
// a root key (default ferry), laid out like Ferry's labels with '/' between
// the parts: ferry/http/routers/web/rule,
// ferry/http/services/web/loadbalancer/servers/0/url.
//
// The provider reads the prefix once, then watches it from the revision of
// that read, so no change is missed and no event causes a full re-read.
// The events of one revision (a transaction changing several keys) become
// one update. When etcd is unreachable the last configuration keeps
// serving; the client reconnects with backoff and the watch resumes where
// it stopped.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/kvtree"
)

// Options configure the etcd provider (providers.etcd).
type Options struct {
	// Endpoints are the etcd members' client addresses, host:port or URLs
	// (default 127.0.0.1:2379).
	Endpoints []string `json:"endpoints,omitempty"`
	// RootKey is the prefix of Ferry's keys (default ferry).
	RootKey string `json:"rootKey,omitempty"`
	// Username authenticates to etcd, with Password.
	Username string `json:"username,omitempty"`
	// Password is Username's password.
	Password string `json:"password,omitempty"`
	// TLS, when set, reaches etcd over TLS.
	TLS *kvtree.TLS `json:"tls,omitempty"`
}

// Timings of the provider.
const (
	// readTimeout bounds the initial read of the prefix.
	readTimeout = 5 * time.Second
	minRetry    = 100 * time.Millisecond
	maxRetry    = 5 * time.Second
)

// Provider is the etcd provider.
type Provider struct {
	log  *zap.Logger
	opts Options
}

var _ providers.Provider = (*Provider)(nil)

// New returns an etcd provider that logs to log.
func New(log *zap.Logger, opts Options) *Provider {
	if len(opts.Endpoints) == 0 {
		opts.Endpoints = []string{"127.0.0.1:2379"}
	}
	if strings.Trim(opts.RootKey, "/") == "" {
		opts.RootKey = "ferry"
	}
	opts.RootKey = strings.Trim(opts.RootKey, "/")
	return &Provider{log: log, opts: opts}
}

// Name returns "etcd".
func (p *Provider) Name() string { return "etcd" }

// Run sends the configuration under the root key, then again after every
// change, until ctx ends. It fails only when the options are unusable.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Update) error {
	cfg := clientv3.Config{
		Endpoints:            p.opts.Endpoints,
		Username:             p.opts.Username,
		Password:             p.opts.Password,
		DialTimeout:          readTimeout,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		Logger:               p.log.Named("client").WithOptions(zap.IncreaseLevel(zap.ErrorLevel)),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: minRetry, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxRetry},
			MinConnectTimeout: readTimeout,
		})},
	}
	if p.opts.TLS != nil {
		t, err := p.opts.TLS.Config()
		if err != nil {
			return fmt.Errorf("etcd: %w", err)
		}
		cfg.TLS = t
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return fmt.Errorf("etcd: client: %w", err)
	}
	defer cli.Close()

	r := &run{p: p, cli: cli, pub: kvtree.Publisher{Out: out, Log: p.log},
		health: &health{h: kvtree.Health{Log: p.log, What: "etcd"}}}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.monitor(ctx)
	}()
	defer wg.Wait()
	defer cancel()
	r.loop(ctx)
	return nil
}

// health is kvtree.Health shared by the read loop and the connection monitor.
type health struct {
	mu sync.Mutex
	h  kvtree.Health
}

func (h *health) fail(err error, retry time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.h.Fail(err, retry)
}

func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.h.OK()
}

// run is the state of one Run call.
type run struct {
	p      *Provider
	cli    *clientv3.Client
	pub    kvtree.Publisher
	health *health
	kv     map[string]string
}

// loop reads and watches until ctx ends; a watch that fails for good
// (compaction, cancellation) is followed by a new read.
func (r *run) loop(ctx context.Context) {
	bo := kvtree.Backoff{Min: minRetry, Max: maxRetry}
	for ctx.Err() == nil {
		rev, err := r.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := bo.Next()
			r.health.fail(err, d)
			kvtree.Sleep(ctx, d)
			continue
		}
		r.health.ok()
		bo.Reset()
		if !r.send(ctx) {
			return
		}
		err = r.watch(ctx, rev)
		if ctx.Err() != nil {
			return
		}
		d := bo.Next()
		r.p.log.Warn("etcd watch ended; reading the keys again", zap.Error(err), zap.Duration("retry", d))
		kvtree.Sleep(ctx, d)
	}
}

// read loads every key under the root and returns the revision read.
func (r *run) read(ctx context.Context) (int64, error) {
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	resp, err := r.cli.Get(rctx, r.p.opts.RootKey+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("etcd: read %s/: %w", r.p.opts.RootKey, err)
	}
	r.kv = make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		r.kv[string(kv.Key)] = string(kv.Value)
	}
	return resp.Header.Revision, nil
}

// watch applies the changes after rev until the watch ends; it returns why.
func (r *run) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := r.cli.Watch(wctx, r.p.opts.RootKey+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return fmt.Errorf("etcd: watch %s/: %w", r.p.opts.RootKey, err)
		}
		if len(resp.Events) == 0 {
			continue
		}
		for _, ev := range resp.Events {
			switch ev.Type {
			case clientv3.EventTypePut:
				r.kv[string(ev.Kv.Key)] = string(ev.Kv.Value)
			case clientv3.EventTypeDelete:
				delete(r.kv, string(ev.Kv.Key))
			}
		}
		r.health.ok()
		if !r.send(ctx) {
			return ctx.Err()
		}
	}
	return errors.New("etcd: watch closed")
}

// send builds and sends the current keys' configuration.
func (r *run) send(ctx context.Context) bool {
	res := kvtree.Build(r.kv, r.p.opts.RootKey, "etcd")
	return r.pub.Send(ctx, providers.Update{
		Provider: r.p.Name(), Config: res.Config, Problems: res.Problems, Origins: res.Origins,
	})
}

// monitor logs when the connection to etcd is lost and when it is back,
// while the watch waits for it to resume.
func (r *run) monitor(ctx context.Context) {
	conn := r.cli.ActiveConnection()
	state := conn.GetState()
	for conn.WaitForStateChange(ctx, state) {
		state = conn.GetState()
		switch state {
		case connectivity.TransientFailure:
			r.health.fail(fmt.Errorf("etcd: connection to %s failed", strings.Join(r.p.opts.Endpoints, ",")), 0)
		case connectivity.Ready:
			r.health.ok()
		}
	}
}
