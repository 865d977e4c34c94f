// Package consul holds two providers that read Consul: the catalog provider
// (providers.consulCatalog), which serves registered services whose tags
// carry Ferry's labels, and the KV provider (providers.consul), which reads
// configuration keys under a root key.
//
// Both follow Consul with blocking queries, so a change reaches Ferry as
// soon as Consul commits it; nothing polls. When Consul is unreachable the
// last configuration keeps serving and the queries are retried with
// backoff; when Consul answers again, its current state is read.
package consul

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ferryproxy/ferry/providers/kvtree"
)

// Endpoint says how to reach a Consul agent.
type Endpoint struct {
	// Address is the agent's HTTP address, host:port (default 127.0.0.1:8500).
	Address string `json:"address,omitempty"`
	// Scheme is http or https (default http).
	Scheme string `json:"scheme,omitempty"`
	// Datacenter is the datacenter to read (default the agent's own).
	Datacenter string `json:"datacenter,omitempty"`
	// Token is the ACL token sent with every request.
	Token string `json:"token,omitempty"`
	// TLS, when set, configures HTTPS to the agent.
	TLS *kvtree.TLS `json:"tls,omitempty"`
}

// Timings shared by the providers.
const (
	// waitTime is how long Consul holds a blocking query open without a change.
	waitTime = 5 * time.Minute
	// queryGrace is how much longer than waitTime a query may take before
	// the connection is given up (Consul adds up to waitTime/16 of jitter).
	queryGrace = 30 * time.Second
	// minInterval spaces the queries of one watch once a burst of burst
	// queries is spent, so that an index that keeps changing (or an agent
	// that answers at once) cannot spin a loop.
	minInterval = 20 * time.Millisecond
	burst       = 10
	minRetry    = 100 * time.Millisecond
	// maxIdleConns bounds the connections kept for reuse per agent.
	maxIdleConns = 4096
	maxRetry     = 5 * time.Second
)

// client returns a Consul API client for the endpoint.
func (e Endpoint) client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	// Every watch holds one connection open; keep them for reuse.
	cfg.Transport.MaxIdleConnsPerHost = maxIdleConns
	cfg.Address = "127.0.0.1:8500"
	if e.Address != "" {
		cfg.Address = e.Address
	}
	if e.Scheme != "" {
		cfg.Scheme = e.Scheme
	}
	cfg.Datacenter = e.Datacenter
	cfg.Token = e.Token
	if e.TLS != nil {
		cfg.TLSConfig = api.TLSConfig{
			CAFile: e.TLS.CA, CertFile: e.TLS.Cert, KeyFile: e.TLS.Key,
			InsecureSkipVerify: e.TLS.InsecureSkipVerify,
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul: client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

// watch runs one blocking query over and over: query is called with the
// last index and returns its result's index. It handles the index as
// Consul documents: an index that goes backwards (a restarted agent, a
// snapshot restore) resets the watch to zero, and a zero index is never
// waited on. Results are handed to onChange only when the index moved.
// onError is told of every failure with the wait before the retry; onOK of
// every success. watch returns when ctx ends.
type watch struct {
	query    func(ctx context.Context, index uint64) (uint64, error)
	onChange func() bool // false stops the watch
	onError  func(err error, retry time.Duration)
	onOK     func()
}

func (w watch) run(ctx context.Context) {
	var index uint64
	bo := kvtree.Backoff{Min: minRetry, Max: maxRetry}
	lim := limiter{tokens: burst, last: time.Now()}
	for ctx.Err() == nil {
		if !lim.wait(ctx) {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, waitTime+queryGrace)
		got, err := w.query(qctx, index)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Read the current state at once when the agent answers again:
			// a restarted agent may have a lower index, and a query for a
			// higher one would wait until the agent catches up to it.
			index = 0
			d := bo.Next()
			w.onError(err, d)
			if !kvtree.Sleep(ctx, d) {
				return
			}
			continue
		}
		bo.Reset()
		w.onOK()
		switch {
		case got == index && index != 0:
			continue // the wait ended without a change
		case got < index:
			index = 0 // went backwards: start over, and take this answer
		default:
			index = max(got, 1)
		}
		if !w.onChange() {
			return
		}
	}
}

// limiter is a token bucket: burst queries at once, then one per
// minInterval.
type limiter struct {
	tokens float64
	last   time.Time
}

// wait takes a token, sleeping until one is there; false if ctx ended.
func (l *limiter) wait(ctx context.Context) bool {
	now := time.Now()
	l.tokens = min(burst, l.tokens+float64(now.Sub(l.last))/float64(minInterval))
	l.last = now
	if l.tokens < 1 {
		d := time.Duration((1 - l.tokens) * float64(minInterval))
		if !kvtree.Sleep(ctx, d) {
			return false
		}
		l.tokens, l.last = 1, time.Now()
	}
	l.tokens--
	return true
}

// queryOptions are the options of a blocking query from index.
func queryOptions(ctx context.Context, index uint64) *api.QueryOptions {
	return (&api.QueryOptions{WaitIndex: index, WaitTime: waitTime}).WithContext(ctx)
}
