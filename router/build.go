package router

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/metrics"
	"github.com/ferryproxy/ferry/router/rule"
)

// EntryPoint describes an HTTP entry point to Build.
type EntryPoint struct {
	// Name is the entry point's name in the static configuration.
	Name string
	// TLS makes every router on the entry point a TLS router.
	TLS bool
	// TLSOptions are the TLS options of the entry point's routers that
	// name none (http.tls.options); a name without @ is the router's provider's.
	TLSOptions string
	// Middlewares come before the own middlewares of every HTTP router on
	// the entry point (http.middlewares); a name without @ is the router's
	// provider's.
	Middlewares []string
	// CertResolver and Domains are the tls section of the entry point's
	// routers that have none (http.tls.certResolver and http.tls.domains).
	CertResolver string
	Domains      []config.Domain
}

// Input is what Build turns into a table: the merged configuration and what
// the providers already found wrong with it.
type Input struct {
	Config   *config.Config
	Problems []config.Problem
	// Origins says where objects were defined, for problems; may be nil.
	Origins config.Origins
}

// BuildOptions are Build's fixed inputs.
type BuildOptions struct {
	EntryPoints []EntryPoint
	Transports  *Transports
	Log         *zap.Logger
	// Previous is the table being replaced; services whose definition did
	// not change are carried over from it with their state. May be nil.
	Previous *Table
	// Health hands out the active health checkers of services; the caller
	// starts and stops them with Registry.Sync once the table is live
	// (the Switcher does). Nil: active health checks are not run.
	Health *health.Registry
	// UDPEntryPoints are the names of the UDP entry points, which serve UDP routers only.
	UDPEntryPoints []string
	// Internal are Ferry's own services (api@internal, prometheus@internal…)
	// that routers may name as their service.
	Internal map[string]http.Handler
	// Metrics, when not nil, measures every router's and service's requests.
	Metrics *metrics.Registry
	// TLSCertificates picks the certificates of the handshakes TLS options
	// govern (the Switcher); nil: the table is not served (ferry check).
	TLSCertificates TLSCertificates
	// DefaultRuleSyntax is the rule syntax of routers without ruleSyntax
	// (core.defaultRuleSyntax): "v2" or "v3"; empty means v3.
	DefaultRuleSyntax string
}

// Build turns a configuration into a routing table. Every invalid router,
// service, middleware or certificate is disabled on its own with its
// reasons recorded; everything else is served. Build does not modify its
// inputs or the previous table.
func Build(in Input, opts BuildOptions) *Table {
	in = withEntryPointDefaults(in, opts.EntryPoints) // epdefaults.go
	cfg := in.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	b := &builder{
		opts:    opts,
		cfg:     cfg,
		prev:    opts.Previous,
		origins: in.Origins,
		errs:    make(map[config.ObjectID][]string),
		table: &Table{config: cfg, entries: make([]entryRoutes, len(opts.EntryPoints)), ruleSyntax: opts.DefaultRuleSyntax,
			entryPoints: opts.EntryPoints},
	}
	for _, p := range in.Problems {
		b.problem(p)
	}
	var prevValidation *config.Validation
	if b.prev != nil {
		prevValidation = b.prev.validation
	}
	b.table.validation = config.ValidateNext(cfg, prevValidation)
	for _, p := range b.table.validation.Problems {
		b.problem(p)
	}
	b.buildTransports() // transports.go
	b.buildServices()
	b.buildMiddlewares()
	b.buildTLSOptions() // tlsoptions.go
	b.buildRouters()
	b.buildTCP()
	b.selectTLS() // tlsoptions.go
	b.buildUDP()
	b.table.certs = b.loadCertificates(cfg.TLS.Certificates)
	config.SortProblems(b.problems)
	b.table.problems = b.problems
	return b.table
}

type builder struct {
	opts     BuildOptions
	origins  config.Origins
	cfg      *config.Config
	prev     *Table
	errs     map[config.ObjectID][]string
	problems []config.Problem
	table    *Table
	// rules are the rules compiled in this build, by ruleKey, for routers
	// sharing a rule that the previous table did not have.
	rules map[string]*rule.Rule
}

// problem records p, disabling the object it names. The object's origin
// (file:line, container, Consul instance) is added to the reason the API
// shows, so users can find what to fix. Secrets in the message (a URL's
// password, an inline key) are redacted here, before the API, the log or
// `ferry check` can show it.
func (b *builder) problem(p config.Problem) {
	p = p.Redacted()
	if p.Origin == "" && b.origins != nil {
		p.Origin = b.origins.Origin(p.ID())
	}
	b.problems = append(b.problems, p)
	msg := p.Message
	if p.Field != "" {
		msg = p.Field + ": " + msg
	}
	if p.Origin != "" {
		msg += " (from " + p.Origin + ")"
	}
	id := p.ID()
	b.errs[id] = append(b.errs[id], msg)
}

func (b *builder) disabled(k config.Kind, name string) bool {
	return len(b.errs[config.ObjectID{Kind: k, Name: name}]) > 0
}

func (b *builder) buildServices() {
	t := b.table
	t.services = make(map[string]*service, len(b.cfg.HTTP.Services))
	t.serviceInfo = make(map[string]*ServiceInfo, len(b.cfg.HTTP.Services))
	var prevNames []string
	var prevDefs map[string]*config.Service
	if b.prev != nil {
		prevNames, prevDefs = b.prev.names.services, b.prev.config.HTTP.Services
	}
	t.names.services = sortedNames(b.cfg.HTTP.Services, prevDefs, prevNames)
	names := t.names.services
	for _, name := range names {
		t.serviceInfo[name] = &ServiceInfo{Service: b.cfg.HTTP.Services[name], Name: name, Provider: config.ProviderOf(name)}
	}
	failed := make(map[string]bool)
	for _, name := range names {
		b.service(name, nil, failed)
	}
}

// service builds (once) and returns the named service, building the
// services it refers to first; nil when it is disabled. stack holds the
// services being built, to catch cycles.
func (b *builder) service(name string, stack []string, failed map[string]bool) *service {
	if s := b.table.services[name]; s != nil {
		return s
	}
	def := b.cfg.HTTP.Services[name]
	if def == nil || failed[name] || b.disabled(config.KindService, name) {
		return nil
	}
	for i, s := range stack {
		if s == name {
			failed[name] = true
			cycle := append(append([]string(nil), stack[i:]...), name)
			b.problem(config.Problem{Kind: config.KindService, Name: name,
				Message: "service cycle: " + strings.Join(cycle, " -> ")})
			return nil
		}
	}
	var children map[string]*service
	refs, fields := def.References()
	if len(refs) > 0 {
		stack = append(stack, name)
	}
	for i, ref := range refs {
		child := b.service(ref, stack, failed)
		if failed[name] {
			return nil // a cycle through this service, already reported
		}
		if child == nil {
			failed[name] = true
			b.problem(config.Problem{Kind: config.KindService, Name: name, Field: fields[i],
				Message: fmt.Sprintf("service %q is disabled", ref)})
			return nil
		}
		if children == nil {
			children = make(map[string]*service, len(refs))
		}
		children[ref] = child
	}
	tr, ok := b.serviceTransports(name, def) // transports.go
	if !ok {
		failed[name] = true
		return nil
	}
	if svc := b.reuseService(name, def, children); svc != nil && sameTransports(svc.transports, tr) {
		b.table.services[name] = svc
		return svc
	}
	var prev *service
	if b.prev != nil {
		prev = b.prev.services[name]
	}
	svc, err := newService(name, def, children, serviceDeps{transports: tr, registry: b.opts.Health,
		metrics: b.opts.Metrics, log: b.opts.Log.Named("service"), prev: prev})
	if err != nil {
		failed[name] = true
		b.problem(config.Problem{Kind: config.KindService, Name: name, Message: err.Error()})
		return nil
	}
	b.table.services[name] = svc
	return svc
}

// reuseService returns the previous table's service when its definition
// and the services it refers to are unchanged, so all its state carries
// over.
func (b *builder) reuseService(name string, def *config.Service, children map[string]*service) *service {
	if b.prev == nil {
		return nil
	}
	if old := b.prev.services[name]; old != nil && old.sameAs(def, children) {
		return old
	}
	return nil
}

func (b *builder) status(k config.Kind, name string) (string, []string) {
	if errs := b.errs[config.ObjectID{Kind: k, Name: name}]; len(errs) > 0 {
		return StatusDisabled, errs
	}
	return StatusEnabled, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
