package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// loadTimeout bounds loading one stored certificate, so that an
// unreachable store cannot stall the manager.
const loadTimeout = 10 * time.Second

// Options configure a Manager.
type Options struct {
	// Resolvers are the certificate resolvers by name, with paths resolved.
	Resolvers map[string]*Config
	// EntryPoints are the static configuration's entry point addresses by
	// name; the challenges are answered on them.
	EntryPoints map[string]string
	// OnOrder, when set, is told the result of every order ("success" or
	// "failure") with its resolver, for metrics. It must not block.
	OnOrder func(resolver, result string)
}

// Manager obtains, serves and renews the certificates of the names in the
// live configuration. Sync hands it the configuration; Run does the work
// in the background until its context ends.
type Manager struct {
	log       *zap.Logger
	onOrder   func(resolver, result string)
	cache     *certmagic.Cache
	resolvers map[string]*resolver
	names     []string // resolver names, sorted

	kick    chan struct{}
	loaded  chan struct{}
	synced  atomic.Bool
	live    atomic.Pointer[map[string]*resolver] // managed name -> resolver: the decision for handshakes
	mu      sync.Mutex                           // guards pending, reqs, status
	pending *config.Config
	reqs    []Request
	status  map[string]*nameStatus

	closers []func() // release the storages' connections

	// owned by Run
	managed map[string]*managedName
	rules   ruleDomains

	ext managerExt // on-demand TLS (ondemand.go)
}

// resolver is one certificate resolver: a certmagic configuration on the
// shared cache, with its ACME issuer.
type resolver struct {
	name   string
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
	http   string // entry point answering HTTP-01, "" when off
	tls    bool   // TLS-ALPN-01 on

	ext resolverExt // DNS-01 and on-demand TLS (ondemand.go)
}

type managedName struct {
	resolver *resolver
	cancel   context.CancelFunc
}

// New makes a Manager with one certificate cache shared by every resolver.
func New(log *zap.Logger, opts Options) (*Manager, error) {
	m := &Manager{
		log:       log,
		resolvers: make(map[string]*resolver, len(opts.Resolvers)),
		kick:      make(chan struct{}, 1),
		loaded:    make(chan struct{}),
		status:    make(map[string]*nameStatus),
		managed:   make(map[string]*managedName),
		rules:     ruleDomains{cur: map[string][]string{}},
		onOrder:   opts.OnOrder,
	}
	empty := map[string]*resolver{}
	m.live.Store(&empty)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: m.configForCert,
		Logger:           log.Named("cache"),
	})
	tlsAddr := tlsChallengeAddress(opts.EntryPoints)
	setLegoResolvers(opts.Resolvers) // dns01.go
	for _, name := range sortedKeys(opts.Resolvers) {
		r, err := m.newResolver(name, opts.Resolvers[name], opts.EntryPoints, tlsAddr)
		if err != nil {
			m.close()
			return nil, err
		}
		m.resolvers[name] = r
		m.names = append(m.names, name)
	}
	return m, nil
}

func (m *Manager) newResolver(name string, c *Config, entryPoints map[string]string, tlsAddr string) (*resolver, error) {
	log := m.log.With(zap.String("resolver", name))
	roots, err := c.trustedRoots()
	if err != nil {
		return nil, fmt.Errorf("acme: resolver %s: %w", name, err)
	}
	kt, ok := keyTypes[strings.ToUpper(c.KeyType)]
	if !ok {
		return nil, fmt.Errorf("acme: resolver %s: keyType %q is not supported", name, c.KeyType)
	}
	r := &resolver{name: name, tls: c.TLSChallenge != nil}
	storage, closeStorage, err := OpenStorage(log, c.Storage)
	if err != nil {
		return nil, fmt.Errorf("acme: resolver %s: %w", name, err)
	}
	m.closers = append(m.closers, closeStorage)
	r.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:        storage,
		KeySource:      certmagic.StandardKeyGenerator{KeyType: kt},
		Logger:         log,
		OnEvent:        func(ctx context.Context, event string, data map[string]any) error { return m.onEvent(r, event, data) },
		ShouldEmitFunc: func(event string) bool { return strings.HasPrefix(event, "cert_") },
	})
	tmpl := certmagic.ACMEIssuer{
		CA:                      c.caServer(),
		Email:                   c.Email,
		Agreed:                  true,
		ExternalAccount:         c.eab(),
		DisableHTTPChallenge:    c.HTTPChallenge == nil,
		DisableTLSALPNChallenge: c.TLSChallenge == nil,
		TrustedRoots:            roots,
		Logger:                  log.Named("issuer"),
	}
	// The challenges are answered by Ferry's own entry points: pointing
	// certmagic's solvers at those addresses makes them find the port in
	// use and leave the answering to us instead of opening listeners.
	if h := c.HTTPChallenge; h != nil {
		addr, ok := entryPoints[h.EntryPoint]
		if !ok {
			return nil, fmt.Errorf("acme: resolver %s: httpChallenge.entryPoint: entry point %q does not exist", name, h.EntryPoint)
		}
		host, port, err := splitAddress(addr)
		if err != nil {
			return nil, fmt.Errorf("acme: resolver %s: httpChallenge.entryPoint %s: %w", name, h.EntryPoint, err)
		}
		tmpl.ListenHost, tmpl.AltHTTPPort = host, port
		r.http = h.EntryPoint
	}
	if r.tls && tlsAddr != "" {
		host, port, err := splitAddress(tlsAddr)
		if err != nil {
			return nil, fmt.Errorf("acme: resolver %s: tlsChallenge: %w", name, err)
		}
		if tmpl.ListenHost == "" {
			tmpl.ListenHost = host
		}
		tmpl.AltTLSALPNPort = port
	}
	if err := m.extendResolver(r, c, storage, r.cfg.KeySource, &tmpl, log); err != nil { // DNS-01, on-demand (ondemand.go)
		return nil, err
	}
	r.issuer = certmagic.NewACMEIssuer(r.cfg, tmpl)
	r.cfg.Issuers = []certmagic.Issuer{r.issuer}
	return r, nil
}

// close stops the cache's maintenance and releases the storages.
func (m *Manager) close() {
	m.cache.Stop()
	for _, c := range m.closers {
		c()
	}
}

// tlsChallengeAddress picks the entry point whose address certmagic's
// TLS-ALPN-01 solver is told about: one on port 443 when there is one,
// else the first by name. Every entry point answers the challenge.
func tlsChallengeAddress(entryPoints map[string]string) string {
	names := sortedKeys(entryPoints)
	for _, n := range names {
		if _, port, err := splitAddress(entryPoints[n]); err == nil && port == 443 {
			return entryPoints[n]
		}
	}
	if len(names) == 0 {
		return ""
	}
	return entryPoints[names[0]]
}

// configForCert tells the cache which resolver maintains a certificate.
func (m *Manager) configForCert(cert certmagic.Certificate) (*certmagic.Config, error) {
	live := *m.live.Load()
	for _, n := range cert.Names {
		if r := live[normalize(n)]; r != nil {
			return r.cfg, nil
		}
	}
	if c := m.onDemandConfig(cert.Names); c != nil {
		return c, nil
	}
	if len(m.names) == 0 {
		return nil, errors.New("acme: no certificate resolver")
	}
	return m.resolvers[m.names[0]].cfg, nil
}

// Known reports whether a resolver is defined.
func (m *Manager) Known(resolver string) bool { return m.resolvers[resolver] != nil }

// Sync hands the manager the live configuration. It does not block: the
// names that appeared are loaded from storage or ordered, and the names
// that left stop being managed, in the background.
func (m *Manager) Sync(cfg *config.Config) {
	m.mu.Lock()
	m.pending = cfg
	m.mu.Unlock()
	m.synced.Store(true)
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// WaitLoaded waits, at most d or until ctx ends, until the certificates in
// storage for the first configuration handed to Sync are in memory. It
// returns at once when Sync was never called.
func (m *Manager) WaitLoaded(ctx context.Context, d time.Duration) {
	if !m.synced.Load() {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.loaded:
	case <-t.C:
		m.log.Warn("stored certificates not loaded yet; serving anyway", zap.Duration("waited", d))
	case <-ctx.Done():
	}
}

// Run applies the configurations handed to Sync until ctx ends, then
// stops every background obtain and the cache's renewal loop.
func (m *Manager) Run(ctx context.Context) error {
	defer m.close()
	first := true
	for {
		select {
		case <-ctx.Done():
			for _, mn := range m.managed {
				mn.cancel()
			}
			return nil
		case <-m.kick:
		}
		m.mu.Lock()
		cfg := m.pending
		m.pending = nil
		m.mu.Unlock()
		if cfg == nil {
			continue
		}
		m.reconcile(ctx, cfg)
		if first {
			first = false
			close(m.loaded)
		}
	}
}

// reconcile makes the managed names those of cfg: names that left are
// dropped from the cache (no more renewals, background orders cancelled),
// new names are loaded from storage at once, or ordered in the background.
func (m *Manager) reconcile(ctx context.Context, cfg *config.Config) {
	m.rules.next()
	reqs := m.requests(cfg) // ondemand.go
	want := Wanted(reqs)

	var removed []certmagic.SubjectIssuer
	for name, mn := range m.managed {
		if w := want[name]; w == nil || m.resolvers[w.Resolver] != mn.resolver {
			mn.cancel()
			delete(m.managed, name)
			removed = append(removed, certmagic.SubjectIssuer{Subject: name})
			m.log.Info("certificate no longer managed", zap.String("domain", name), zap.String("resolver", mn.resolver.name))
		}
	}
	if len(removed) > 0 {
		m.cache.RemoveManaged(removed)
	}

	live := make(map[string]*resolver, len(want))
	var added []string
	for name, w := range want {
		live[name] = m.resolvers[w.Resolver]
		if m.managed[name] == nil {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	m.mu.Lock()
	m.reqs = reqs
	for name := range m.status {
		if want[name] == nil {
			delete(m.status, name)
		}
	}
	for name, w := range want {
		st := m.status[name]
		if st == nil {
			st = &nameStatus{State: StatePending}
			m.status[name] = st
		}
		st.Resolver, st.Routers = w.Resolver, w.Routers
	}
	m.mu.Unlock()
	m.live.Store(&live)

	var order []string
	for _, name := range added {
		r := live[name]
		mctx, cancel := context.WithCancel(ctx)
		m.managed[name] = &managedName{resolver: r, cancel: cancel}
		lctx, lcancel := context.WithTimeout(mctx, loadTimeout)
		_, err := r.cfg.CacheManagedCertificate(lctx, name)
		lcancel()
		switch {
		case err == nil:
			m.setState(name, StateValid, "")
			m.log.Info("certificate loaded from storage", zap.String("domain", name), zap.String("resolver", r.name))
			continue
		case !errors.Is(err, fs.ErrNotExist):
			m.log.Warn("loading stored certificate", zap.String("domain", name), zap.String("resolver", r.name), zap.Error(err))
		}
		order = append(order, name)
	}
	for _, name := range order {
		mn := m.managed[name]
		mctx, cancel := context.WithCancel(ctx)
		mn.cancel()
		mn.cancel = cancel
		if err := mn.resolver.cfg.ManageAsync(mctx, []string{name}); err != nil {
			m.setState(name, StateFailed, err.Error())
			m.log.Error("managing certificate", zap.String("domain", name), zap.String("resolver", mn.resolver.name), zap.Error(err))
		}
	}
	for _, r := range reqs {
		for _, e := range r.Errors {
			m.log.Warn("certificate not requested", zap.String("router", r.Router), zap.String("resolver", r.Resolver), zap.String("reason", e))
		}
	}
}

// GetCertificate returns the managed certificate for the handshake's name,
// or nil when the name is not managed or has no certificate yet. A
// TLS-ALPN-01 challenge handshake gets its challenge certificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.IsChallenge(hello) {
		return m.challengeCertificate(hello)
	}
	name := normalize(hello.ServerName)
	r := m.lookup(name) // the name's resolver, or its wildcard's (ondemand.go)
	if r == nil {
		return m.onDemandCertificate(hello, name)
	}
	cert, err := r.cfg.GetCertificate(hello)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return nil, nil // no certificate yet: the caller falls back
	}
	return cert, nil
}

// IsChallenge reports whether a ClientHello is a TLS-ALPN-01 validation.
func (m *Manager) IsChallenge(hello *tls.ClientHelloInfo) bool {
	return hello.ServerName != "" && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmez.ACMETLS1Protocol
}

func (m *Manager) challengeCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	var last error
	for _, n := range m.names {
		r := m.resolvers[n]
		if !r.tls {
			continue
		}
		cert, err := r.cfg.GetCertificate(hello)
		if err == nil && cert != nil {
			return cert, nil
		}
		last = err
	}
	if last == nil {
		last = fmt.Errorf("acme: no TLS-ALPN-01 challenge for %s", hello.ServerName)
	}
	return nil, last
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
