package consul

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/kvtree"
)

// KVOptions configure the Consul KV provider (providers.consul).
type KVOptions struct {
	// Endpoints are Consul agents' HTTP addresses, host:port, tried in
	// turn when one does not answer (default 127.0.0.1:8500).
	Endpoints []string `json:"endpoints,omitempty"`
	// RootKey is the prefix of Ferry's keys (default ferry), e.g.
	// ferry/http/routers/web/rule.
	RootKey string `json:"rootKey,omitempty"`
	// Scheme is http or https (default http).
	Scheme string `json:"scheme,omitempty"`
	// Datacenter is the datacenter to read (default the agent's own).
	Datacenter string `json:"datacenter,omitempty"`
	// Token is the ACL token sent with every request.
	Token string `json:"token,omitempty"`
	// TLS, when set, configures HTTPS to the agents.
	TLS *kvtree.TLS `json:"tls,omitempty"`
}

// KV is the Consul KV provider.
type KV struct {
	log     *zap.Logger
	opts    KVOptions
	clients []*api.Client // made by Run
}

var _ providers.Provider = (*KV)(nil)

// NewKV returns a Consul KV provider that logs to log.
func NewKV(log *zap.Logger, opts KVOptions) *KV {
	if len(opts.Endpoints) == 0 {
		opts.Endpoints = []string{"127.0.0.1:8500"}
	}
	opts.RootKey = strings.Trim(opts.RootKey, "/")
	if opts.RootKey == "" {
		opts.RootKey = "ferry"
	}
	return &KV{log: log, opts: opts}
}

// Name returns "consul".
func (p *KV) Name() string { return "consul" }

// Run sends the configuration under the root key, then again after every
// change, until ctx ends. It fails only when a client cannot be made from
// the options (a TLS file that does not load).
func (p *KV) Run(ctx context.Context, out chan<- providers.Update) error {
	p.clients = p.clients[:0]
	for _, addr := range p.opts.Endpoints {
		c, err := Endpoint{Address: addr, Scheme: p.opts.Scheme, Datacenter: p.opts.Datacenter, Token: p.opts.Token, TLS: p.opts.TLS}.client()
		if err != nil {
			return err
		}
		p.clients = append(p.clients, c)
	}
	pub := kvtree.Publisher{Out: out, Log: p.log}
	health := kvtree.Health{Log: p.log, What: "consul kv"}
	prefix := p.opts.RootKey + "/"
	cur := 0
	var kv map[string]string
	w := watch{
		query: func(ctx context.Context, index uint64) (uint64, error) {
			pairs, meta, err := p.clients[cur].KV().List(prefix, queryOptions(ctx, index))
			if err != nil {
				cur = (cur + 1) % len(p.clients) // the next agent; its index is checked as any other
				return index, fmt.Errorf("consul kv: list %s: %w", prefix, err)
			}
			kv = make(map[string]string, len(pairs))
			for _, pair := range pairs {
				kv[pair.Key] = string(pair.Value)
			}
			return meta.LastIndex, nil
		},
		onChange: func() bool {
			res := kvtree.Build(kv, p.opts.RootKey, "consul")
			return pub.Send(ctx, providers.Update{Provider: p.Name(), Config: res.Config, Problems: res.Problems, Origins: res.Origins})
		},
		onError: func(err error, retry time.Duration) {
			if !errors.Is(err, context.Canceled) {
				health.Fail(err, retry)
			}
		},
		onOK: health.OK,
	}
	w.run(ctx)
	return nil
}
