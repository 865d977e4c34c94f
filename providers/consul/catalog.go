package consul

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/kvtree"
	"github.com/ferryproxy/ferry/providers/labels"
)

// CatalogOptions configure the Consul catalog provider
// (providers.consulCatalog).
type CatalogOptions struct {
	// Endpoint says how to reach the Consul agent.
	Endpoint Endpoint `json:"endpoint"`
	// Prefix starts the tags Ferry reads, e.g. ferry.http.routers.web.rule=…
	// (default ferry; traefik reads a Traefik deployment unchanged).
	Prefix string `json:"prefix,omitempty"`
	// ExposedByDefault serves every service; when false (the default) only
	// services tagged <prefix>.enable=true are served.
	ExposedByDefault bool `json:"exposedByDefault,omitempty"`
	// DefaultRule is the rule of a service's implicit router, a Go template
	// that sees .Name (the service's name) and .Labels and may call
	// normalize (default Host(`{{ normalize .Name }}`)).
	DefaultRule string `json:"defaultRule,omitempty"`
	// Constraints choose the services read, by tag: Tag(`t`), TagRegex(`re`),
	// combined with &&, || and ! (default every service).
	Constraints string `json:"constraints,omitempty"`
	// StrictChecks are the check statuses that count as healthy: an
	// instance is served when the aggregated status of its checks is one of
	// them (default passing and warning).
	StrictChecks []string `json:"strictChecks,omitempty"`
}

// firstWait bounds how long the first update waits for every service's
// first answer.
const firstWait = 3 * time.Second

// Catalog is the Consul catalog provider.
type Catalog struct {
	log    *zap.Logger
	opts   CatalogOptions
	set    settings    // set by Run
	client *api.Client // set by Run
}

var _ providers.Provider = (*Catalog)(nil)

// NewCatalog returns a Consul catalog provider that logs to log.
func NewCatalog(log *zap.Logger, opts CatalogOptions) *Catalog {
	if opts.Prefix == "" {
		opts.Prefix = "ferry"
	}
	if len(opts.StrictChecks) == 0 {
		opts.StrictChecks = []string{api.HealthPassing, api.HealthWarning}
	}
	return &Catalog{log: log, opts: opts}
}

// Name returns "consulcatalog".
func (p *Catalog) Name() string { return "consulcatalog" }

// healthResult is one answer of a service's health watch.
type healthResult struct {
	service string
	gen     uint64
	insts   []instance
}

// serviceWatch is the running health watch of one service.
type serviceWatch struct {
	gen    uint64
	cancel context.CancelFunc
}

// catalogRun is the state of one Run call, owned by its loop.
type catalogRun struct {
	p       *Catalog
	pub     kvtree.Publisher
	results chan healthResult
	wg      sync.WaitGroup
	gen     uint64
	watches map[string]*serviceWatch
	parts   map[string][]labels.Part
	pending map[string]bool // services whose first answer has not come yet
	started bool            // the first update was sent
}

// Run watches the service list and the health of every service, and sends
// the healthy instances' configuration after every change, until ctx ends.
// It fails only when the options are invalid.
func (p *Catalog) Run(ctx context.Context, out chan<- providers.Update) error {
	set, err := newSettings(p.opts)
	if err != nil {
		return err
	}
	c, err := p.opts.Endpoint.client()
	if err != nil {
		return err
	}
	p.set, p.client = set, c
	r := &catalogRun{
		p: p, pub: kvtree.Publisher{Out: out, Log: p.log},
		results: make(chan healthResult),
		watches: map[string]*serviceWatch{},
		parts:   map[string][]labels.Part{},
		pending: map[string]bool{},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer r.wg.Wait()
	defer cancel()
	lists := make(chan []string)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.watchList(ctx, lists)
	}()
	r.loop(ctx, lists)
	return nil
}

func (r *catalogRun) loop(ctx context.Context, lists <-chan []string) {
	first := time.NewTimer(time.Hour)
	first.Stop()
	defer first.Stop()
	for {
		changed := false
		select {
		case <-ctx.Done():
			return
		case names := <-lists:
			changed = r.setServices(ctx, names)
			if !r.started {
				first.Reset(firstWait)
			}
		case res := <-r.results:
			changed = r.apply(res)
			// Take whatever else is ready, so a burst builds once.
			for drained := false; !drained; {
				select {
				case res := <-r.results:
					changed = r.apply(res) || changed
				default:
					drained = true
				}
			}
		case <-first.C:
			if r.started {
				continue
			}
			r.p.log.Warn("consul catalog: some services did not answer in time; serving the others", zap.Int("waiting", len(r.pending)))
			clear(r.pending)
			changed = true
		}
		if !changed || len(r.pending) > 0 {
			continue
		}
		r.started = true
		first.Stop()
		if !r.send(ctx) {
			return
		}
	}
}

// setServices starts a health watch for each new service and stops the
// watch of each service that is gone. It reports whether the view changed.
func (r *catalogRun) setServices(ctx context.Context, names []string) bool {
	changed := false
	present := make(map[string]bool, len(names))
	for _, name := range names {
		present[name] = true
	}
	for name, w := range r.watches {
		if !present[name] {
			w.cancel()
			delete(r.watches, name)
			delete(r.pending, name)
			if _, ok := r.parts[name]; ok {
				delete(r.parts, name)
				changed = true
			}
		}
	}
	for _, name := range names {
		if _, ok := r.watches[name]; ok {
			continue
		}
		r.gen++
		wctx, cancel := context.WithCancel(ctx)
		r.watches[name] = &serviceWatch{gen: r.gen, cancel: cancel}
		if !r.started {
			r.pending[name] = true
		}
		gen := r.gen
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.watchService(wctx, name, gen)
		}()
	}
	if !r.started && len(r.pending) == 0 {
		return true // no service at all: the empty view is the first update
	}
	return changed
}

// apply records a service's instances; false if it changed nothing.
func (r *catalogRun) apply(res healthResult) bool {
	w, ok := r.watches[res.service]
	if !ok || w.gen != res.gen {
		return false // a watch that was stopped
	}
	first := r.pending[res.service]
	delete(r.pending, res.service)
	parts := serviceParts(res.insts, r.p.set)
	if _, had := r.parts[res.service]; !had && len(parts) == 0 {
		return first // the first answers complete the first update even when empty
	}
	r.parts[res.service] = parts
	return true
}

// send merges every service's parts and sends the result.
func (r *catalogRun) send(ctx context.Context) bool {
	m := mergeParts(r.parts)
	return r.pub.Send(ctx, providers.Update{Provider: r.p.Name(), Config: m.Config, Problems: m.Problems, Origins: m.Origins})
}

// watchList follows the list of service names.
func (r *catalogRun) watchList(ctx context.Context, lists chan<- []string) {
	health := kvtree.Health{Log: r.p.log, What: "consul catalog"}
	var names []string
	watch{
		query: func(ctx context.Context, index uint64) (uint64, error) {
			svcs, meta, err := r.p.client.Catalog().Services(queryOptions(ctx, index))
			if err != nil {
				return 0, err
			}
			names = names[:0]
			for name := range svcs {
				names = append(names, name)
			}
			slices.Sort(names)
			return meta.LastIndex, nil
		},
		onChange: func() bool {
			select {
			case lists <- slices.Clone(names):
				return true
			case <-ctx.Done():
				return false
			}
		},
		onError: func(err error, retry time.Duration) {
			if !errors.Is(err, context.Canceled) {
				health.Fail(err, retry)
			}
		},
		onOK: health.OK,
	}.run(ctx)
}

// watchService follows the instances of one service and their health,
// until ctx ends (the service is gone, or the provider stops).
func (r *catalogRun) watchService(ctx context.Context, name string, gen uint64) {
	var insts []instance
	watch{
		query: func(ctx context.Context, index uint64) (uint64, error) {
			entries, meta, err := r.p.client.Health().Service(name, "", false, queryOptions(ctx, index))
			if err != nil {
				return 0, err
			}
			insts = toInstances(name, entries)
			return meta.LastIndex, nil
		},
		onChange: func() bool {
			select {
			case r.results <- healthResult{service: name, gen: gen, insts: insts}:
				return true
			case <-ctx.Done():
				return false
			}
		},
		onError: func(err error, retry time.Duration) {
			if ctx.Err() == nil {
				r.p.log.Debug("consul catalog: health query failed", zap.String("service", name), zap.Error(err), zap.Duration("retry", retry))
			}
		},
		onOK: func() {},
	}.run(ctx)
}

// toInstances converts Consul's answer, in a stable order.
func toInstances(name string, entries []*api.ServiceEntry) []instance {
	out := make([]instance, 0, len(entries))
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		in := instance{
			Service: name, ID: e.Service.ID, Address: e.Service.Address, Port: e.Service.Port,
			Tags: e.Service.Tags, Meta: e.Service.Meta, Status: e.Checks.AggregatedStatus(),
		}
		if e.Node != nil {
			in.Node = e.Node.Node
			if in.Address == "" {
				in.Address = e.Node.Address
			}
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b instance) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Check reports what is wrong with the options (a constraint or default
// rule that does not parse, an unknown check status), for `ferry check`.
func (o CatalogOptions) Check() error {
	_, err := newSettings(NewCatalog(nil, o).opts)
	return err
}
