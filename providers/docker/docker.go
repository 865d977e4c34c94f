// Package docker is the Docker provider: it watches the Docker engine and
// turns labelled containers into routes. Labels follow the grammar of
// package labels (ferry.http.routers.web.rule=Host(`example.com`)).
//
// The provider lists every running container when it connects, then follows
// the engine's event stream and re-inspects only the container an event
// names. A container being stopped (kill or stop event) leaves rotation at
// once, before it dies. When the engine goes away the last configuration
// keeps serving, and the provider reconnects with backoff.
//
// I/O lives in this file; build.go holds the pure container → configuration
// step.
package docker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/constraint"
	"github.com/ferryproxy/ferry/providers/labels"
)

// DefaultEndpoint is the default Docker engine address.
const DefaultEndpoint = "unix:///var/run/docker.sock"

// Options configure the Docker provider (providers.docker in the static
// configuration).
type Options struct {
	// Endpoint is the engine's address: unix:///var/run/docker.sock (the
	// default) or tcp://host:2376.
	Endpoint string `json:"endpoint"`
	// TLS configures a tcp:// endpoint that requires TLS.
	TLS *TLSOptions `json:"tls"`
	// ExposedByDefault serves containers without a <prefix>.enable=true
	// label (default false: containers opt in).
	ExposedByDefault bool `json:"exposedByDefault"`
	// DefaultRule is the rule of a container's implicit router, a Go
	// template with .Name, .ContainerName, .Labels and the function
	// normalize (default Host(`{{ normalize .Name }}`)). Empty ("") makes no
	// implicit router, as in Traefik; so does a template that gives nothing.
	DefaultRule *string `json:"defaultRule"`
	// AllowEmptyServices keeps the routers and services of unhealthy,
	// starting and stopping containers, without their servers: the routes
	// answer 503 instead of 404 until a container is healthy again.
	AllowEmptyServices bool `json:"allowEmptyServices"`
	// AllowNonRunning keeps the routers and services of containers that are
	// not running (created, exited, paused), without servers (503).
	AllowNonRunning bool `json:"allowNonRunning"`
	// LabelPrefix is the prefix of the labels read (default ferry); set
	// traefik to read an existing Traefik deployment's labels unchanged.
	LabelPrefix string `json:"labelPrefix"`
	// Network is the network whose IP is used for containers on several
	// networks; the label <prefix>.docker.network overrides it.
	Network string `json:"network"`
	// Constraints selects containers by label, e.g.
	// Label(`env`, `prod`) && !LabelRegex(`team`, `^test`).
	Constraints string `json:"constraints"`
	// Watch follows the engine's events (default true); false reads the
	// containers once.
	Watch *bool `json:"watch"`
	// UseBindPortIP reaches containers at the host address and port their
	// port is published on rather than at their network IP; an unspecified
	// host address (0.0.0.0) is reached on 127.0.0.1.
	UseBindPortIP bool `json:"useBindPortIP"`
}

// TLSOptions are the client certificate files of a TLS endpoint; relative
// paths are resolved against the static configuration's directory.
type TLSOptions struct {
	// CA is the CA certificate file that signed the engine's certificate.
	CA string `json:"ca"`
	// Cert is the client certificate file.
	Cert string `json:"cert"`
	// Key is the client key file.
	Key string `json:"key"`
}

// Timing of reconnects and calls to the engine.
const (
	minBackoff  = 200 * time.Millisecond
	maxBackoff  = 2 * time.Second // a local socket is cheap to retry; changes are picked up soon after the engine returns
	callTimeout = 10 * time.Second
	// maxBatch bounds how many queued events make one snapshot.
	maxBatch = 256
	// inspectConcurrency bounds concurrent inspections.
	inspectConcurrency = 8
)

// Provider watches one Docker engine.
type Provider struct {
	log   *zap.Logger
	opts  Options
	build buildOptions
	err   error // a bad option, returned by Run
}

var _ providers.Provider = (*Provider)(nil)

// Check reports the first invalid option, naming it.
func (o *Options) Check() error {
	_, err := o.buildOptions()
	return err
}

func (o *Options) buildOptions() (buildOptions, error) {
	b := buildOptions{network: o.Network, useBindPortIP: o.UseBindPortIP, allowEmpty: o.AllowEmptyServices, allowNonRunning: o.AllowNonRunning}
	prefix := o.LabelPrefix
	if prefix == "" {
		prefix = "ferry"
	}
	tmpl, err := labels.ParseDefaultRuleOption(o.DefaultRule)
	if err != nil {
		return b, fmt.Errorf("docker: %w", err)
	}
	b.labels = labels.Options{Prefix: prefix, DefaultRule: tmpl, ExposedByDefault: o.ExposedByDefault, ProviderKeys: []string{"docker"}}
	if o.Constraints != "" {
		if b.constraint, err = constraint.Compile(o.Constraints, constraint.LabelFuncs()); err != nil {
			return b, fmt.Errorf("docker: constraints: %w", err)
		}
	}
	if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "unix://") && !strings.HasPrefix(o.Endpoint, "tcp://") {
		return b, fmt.Errorf("docker: endpoint %q: want unix:// or tcp://", o.Endpoint)
	}
	return b, nil
}

// New returns a provider; invalid options make Run fail (see Options.Check).
func New(log *zap.Logger, o Options) *Provider {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	b, err := o.buildOptions()
	return &Provider{log: log, opts: o, build: b, err: err}
}

// Name returns "docker".
func (p *Provider) Name() string { return "docker" }

// Run follows the engine until ctx ends, sending the full view on out after
// every change. It reconnects on its own; it fails only on bad options.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Update) error {
	if p.err != nil {
		return p.err
	}
	opts := []client.Opt{client.WithHost(p.opts.Endpoint), client.WithAPIVersionNegotiation()}
	if t := p.opts.TLS; t != nil {
		opts = append(opts, client.WithTLSClientConfig(t.CA, t.Cert, t.Key))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return fmt.Errorf("docker: client for %s: %w", p.opts.Endpoint, err)
	}
	defer cli.Close()
	s := &session{p: p, cli: cli, out: out, notes: map[string]string{}}
	backoff := minBackoff
	down := false
	for {
		connected, err := s.run(ctx, func() {
			if down {
				p.log.Info("docker: reconnected; resynchronizing", zap.String("endpoint", p.opts.Endpoint))
			} else {
				p.log.Info("docker: connected", zap.String("endpoint", p.opts.Endpoint))
			}
			down = false
		})
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minBackoff
		}
		if !down {
			p.log.Warn("docker: engine unreachable; the last routes keep serving, retrying with backoff",
				zap.String("endpoint", p.opts.Endpoint), zap.Error(err))
			down = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// session is the provider's state across connections.
type session struct {
	p     *Provider
	cli   *client.Client
	out   chan<- providers.Update
	cs    map[string]*container // by ID
	notes map[string]string     // last logged note per container name
}

// run connects, resynchronizes and follows events until an error. It
// reports whether it got connected.
func (s *session) run(ctx context.Context, connected func()) (bool, error) {
	// The engine's own clock starts the event stream, so that a remote
	// engine's clock skew loses no event.
	ictx, cancel := context.WithTimeout(ctx, callTimeout)
	info, err := s.cli.Info(ictx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("docker: info: %w", err)
	}
	since, err := time.Parse(time.RFC3339Nano, info.SystemTime)
	if err != nil {
		since = time.Now()
	}
	ectx, stop := context.WithCancel(ctx)
	defer stop()
	var msgs <-chan events.Message
	var errs <-chan error
	if s.p.watch() {
		f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("type", string(events.NetworkEventType)))
		// Since replays what happens during the listing below; events
		// are idempotent re-inspections, so a replay is harmless.
		msgs, errs = s.cli.Events(ectx, events.ListOptions{Filters: f, Since: strconv.FormatInt(since.Unix(), 10)})
	}
	if err := s.resync(ctx); err != nil {
		return false, err
	}
	connected()
	if err := s.send(ctx); err != nil {
		return true, err
	}
	if !s.p.watch() {
		<-ctx.Done()
		return true, nil
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-errs:
			return true, fmt.Errorf("docker: events: %w", err)
		case m := <-msgs:
			// Take what is already queued too, and send one snapshot.
			batch := []events.Message{m}
			for more := true; more && len(batch) < maxBatch; {
				select {
				case m := <-msgs:
					batch = append(batch, m)
				default:
					more = false
				}
			}
			if s.applyBatch(ctx, batch) {
				if err := s.send(ctx); err != nil {
					return true, err
				}
			}
		}
	}
}

func (p *Provider) watch() bool { return p.opts.Watch == nil || *p.opts.Watch }

// resync replaces the known containers with the engine's running ones.
func (s *session) resync(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	list, err := s.cli.ContainerList(lctx, dcontainer.ListOptions{All: s.p.opts.AllowNonRunning})
	cancel()
	if err != nil {
		return fmt.Errorf("docker: list containers: %w", err)
	}
	ids := make([]string, 0, len(list))
	for _, sum := range list {
		ids = append(ids, sum.ID)
	}
	cs := make(map[string]*container, len(list))
	for id, r := range s.inspectAll(ctx, ids) {
		if r.err != nil {
			if cerrdefs.IsNotFound(r.err) {
				continue
			}
			return r.err
		}
		cs[id] = r.c
	}
	s.cs = cs
	return nil
}

// applyBatch applies events in order, after inspecting every container
// they ask to re-inspect once, concurrently. It reports whether the view
// may have changed.
func (s *session) applyBatch(ctx context.Context, batch []events.Message) bool {
	var ids []string
	seen := map[string]bool{}
	for _, m := range batch {
		if id, act := classify(m); act >= actRefresh && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	results := s.inspectAll(ctx, ids)
	changed := false
	for _, m := range batch {
		id, act := classify(m)
		changed = s.apply(id, act, results[id]) || changed
	}
	return changed
}

// inspectResult is one container's inspection.
type inspectResult struct {
	c   *container
	err error
}

// inspectAll inspects the containers, a few at a time.
func (s *session) inspectAll(ctx context.Context, ids []string) map[string]inspectResult {
	out := make(map[string]inspectResult, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, inspectConcurrency)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := s.inspect(ctx, id)
			mu.Lock()
			out[id] = inspectResult{c: c, err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// inspect reads one container.
func (s *session) inspect(ctx context.Context, id string) (*container, error) {
	ictx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	j, err := s.cli.ContainerInspect(ictx, id)
	if err != nil {
		return nil, fmt.Errorf("docker: inspect container %s: %w", id, err)
	}
	return fromInspect(j), nil
}

// fromInspect keeps what the build needs of an inspect answer.
func fromInspect(j dcontainer.InspectResponse) *container {
	c := &container{Networks: map[string]string{}}
	if j.ContainerJSONBase != nil {
		c.ID, c.Name = j.ID, strings.TrimPrefix(j.Name, "/")
		if st := j.State; st != nil {
			c.Running = st.Running && !st.Paused && !st.Restarting
			if st.Health != nil {
				c.Health = string(st.Health.Status)
			}
		}
		if j.HostConfig != nil {
			c.HostNetwork = j.HostConfig.NetworkMode.IsHost()
		}
	}
	var specs []string
	if j.Config != nil {
		c.Labels = j.Config.Labels
		for p := range j.Config.ExposedPorts {
			specs = append(specs, string(p))
		}
	}
	if ns := j.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep != nil {
				c.Networks[name] = ep.IPAddress
			}
		}
		for p, bindings := range ns.Ports {
			specs = append(specs, string(p))
			if len(bindings) > 0 && p.Proto() == "tcp" {
				if c.Published == nil {
					c.Published = map[string]string{}
				}
				c.Published[p.Port()] = hostPort(bindings[0].HostIP, bindings[0].HostPort)
			}
		}
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Ports = portsOf(specs)
	return c
}

// send builds the full view and sends it, logging containers whose note changed.
func (s *session) send(ctx context.Context) error {
	list := slices.SortedFunc(maps.Values(s.cs), func(a, b *container) int { return strings.Compare(a.Name, b.Name) })
	res := build(list, &s.p.build)
	for name, note := range res.notes {
		if s.notes[name] != note {
			s.p.log.Warn("docker: container "+note, zap.String("container", name))
		}
	}
	s.notes = res.notes
	u := providers.Update{Provider: s.p.Name(), Config: res.merged.Config, Problems: res.merged.Problems, Origins: res.merged.Origins}
	select {
	case s.out <- u:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
