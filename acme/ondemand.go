package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

// OnDemand configures on-demand TLS (certificatesResolvers.<name>.acme.onDemand):
// routers with tls.onDemand get a certificate for a new name during its
// first TLS handshake, when the ask URL allows the name.
type OnDemand struct {
	// Ask is the URL asked before a name is ordered: GET <ask>?domain=<name>;
	// 200 allows the name, any other answer refuses it. Required: without
	// it anyone could make Ferry order certificates for any name.
	Ask string `json:"ask"`
	// RateLimit bounds the orders on-demand TLS starts (default 10 per minute).
	RateLimit *RateLimit `json:"rateLimit"`
}

// RateLimit bounds on-demand orders: at most Burst in any Interval.
type RateLimit struct {
	// Interval is the sliding window (default 1m).
	Interval config.Duration `json:"interval"`
	// Burst is the number of orders allowed within one interval (default 10).
	Burst int `json:"burst"`
}

// On-demand defaults and bounds.
const (
	defaultOnDemandInterval = time.Minute
	defaultOnDemandBurst    = 10
	askTimeout              = 5 * time.Second
	allowedTTL              = time.Hour        // an allowed name is not asked again within this
	refusedTTL              = time.Minute      // nor a refused one
	askErrorTTL             = 10 * time.Second // nor one whose ask failed (refused meanwhile)
	maxDecisions            = 10000            // cached decisions; the oldest go first
	maxAsksInFlight         = 64               // concurrent ask requests; more are refused
	onDemandObtainTimeout   = 90 * time.Second
)

// errRateLimited refuses an on-demand order over the rate limit; certmagic
// does not retry it.
var errRateLimited = errors.New("on-demand rate limit reached")

// check reports the problems of the on-demand settings.
func (o *OnDemand) check(at string) []string {
	at += ".onDemand"
	var out []string
	if o.Ask == "" {
		out = append(out, at+".ask: missing: on-demand TLS without an ask URL would let anyone make Ferry order certificates")
	} else if u, err := url.Parse(o.Ask); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		out = append(out, fmt.Sprintf("%s.ask: %q is not an http:// or https:// URL", at, config.RedactText(o.Ask)))
	}
	if rl := o.RateLimit; rl != nil {
		if rl.Interval < 0 {
			out = append(out, at+".rateLimit.interval: negative")
		}
		if rl.Burst < 0 {
			out = append(out, at+".rateLimit.burst: negative")
		}
	}
	return out
}

// onDemand is one resolver's on-demand TLS: its own certmagic
// configuration (with a DecisionFunc) on the shared cache, the ask
// decisions and the rate limit.
type onDemand struct {
	log    *zap.Logger
	cfg    *certmagic.Config
	ask    *url.URL
	client *http.Client
	limit  *window
	asks   singleflight.Group
	slots  chan struct{} // bounds the asks in flight
	// onAllowed is told every name the ask URL allows, before it is
	// loaded or ordered.
	onAllowed func(ctx context.Context, name string)

	mu        sync.Mutex
	decisions map[string]decision
}

// decision is a cached answer of the ask URL.
type decision struct {
	allowed bool
	until   time.Time
}

// window is a sliding-window limiter: at most burst events in any interval.
type window struct {
	mu       sync.Mutex
	interval time.Duration
	events   []time.Time // the last burst events, oldest first
	burst    int
}

func (w *window) allow(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.events) >= w.burst {
		if now.Sub(w.events[0]) < w.interval {
			return false
		}
		w.events = w.events[1:]
	}
	w.events = append(w.events, now)
	return true
}

// resolverExt is what DNS-01 and on-demand TLS add to a resolver.
type resolverExt struct {
	dns bool      // dnsChallenge set
	od  *onDemand // nil without onDemand
}

// managerExt is what DNS-01 and on-demand TLS add to the manager.
type managerExt struct {
	odRouters atomic.Pointer[[]odRouter] // routers with tls.onDemand, sorted by name
	mu        sync.Mutex
	// odNames maps the names the ask URL allowed to their resolver, so
	// that renewals use the on-demand configuration; like odStatus, it
	// holds only names the ask URL allowed.
	odNames  map[string]*resolver
	odStatus map[string]*nameStatus // names ordered on demand, for the API
}

// odRouter is a router with tls.onDemand whose resolver has onDemand.
type odRouter struct {
	name     string
	resolver *resolver
	hosts    []string // the only hosts the rule matches; nil: any host
}

// newOnDemand makes the on-demand configuration of resolver r from the
// issuer template tmpl (challenges set) and the managed configuration's
// storage and key type.
func (m *Manager) newOnDemand(r *resolver, c *OnDemand, storage certmagic.Storage, keys certmagic.KeyGenerator, tmpl certmagic.ACMEIssuer, log *zap.Logger) error {
	ask, err := url.Parse(c.Ask)
	if err != nil || c.Ask == "" {
		return fmt.Errorf("acme: resolver %s: onDemand.ask: missing or invalid", r.name)
	}
	od := &onDemand{
		log:       log.Named("ondemand"),
		ask:       ask,
		client:    &http.Client{Timeout: askTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		limit:     &window{interval: defaultOnDemandInterval, burst: defaultOnDemandBurst},
		slots:     make(chan struct{}, maxAsksInFlight),
		decisions: make(map[string]decision),
		onAllowed: m.allowed,
	}
	if rl := c.RateLimit; rl != nil {
		if rl.Interval > 0 {
			od.limit.interval = time.Duration(rl.Interval)
		}
		if rl.Burst > 0 {
			od.limit.burst = rl.Burst
		}
	}
	od.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:   storage,
		KeySource: keys,
		Logger:    log.Named("ondemand"),
		OnEvent: func(ctx context.Context, event string, data map[string]any) error {
			return m.onDemandEvent(r, event, data)
		},
		ShouldEmitFunc: func(event string) bool { return strings.HasPrefix(event, "cert_") },
		OnDemand:       &certmagic.OnDemandConfig{DecisionFunc: od.decide},
	})
	tmpl.Logger = log.Named("ondemand.issuer")
	od.cfg.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(od.cfg, tmpl)}
	r.ext.od = od
	return nil
}

// decide is certmagic's DecisionFunc: the ask URL's answer, cached.
func (od *onDemand) decide(ctx context.Context, name string) error {
	name = normalize(name)
	now := time.Now()
	od.mu.Lock()
	d, ok := od.decisions[name]
	od.mu.Unlock()
	if !ok || now.After(d.until) {
		v, _, _ := od.asks.Do(name, func() (any, error) { return od.askURL(ctx, name), nil })
		d = v.(decision)
	}
	if !d.allowed {
		return fmt.Errorf("%s: refused by the onDemand.ask URL", name)
	}
	if od.onAllowed != nil {
		od.onAllowed(ctx, name)
	}
	return nil
}

// askURL asks whether name may have a certificate and caches the answer.
func (od *onDemand) askURL(ctx context.Context, name string) decision {
	select {
	case od.slots <- struct{}{}:
		defer func() { <-od.slots }()
	default:
		od.log.Warn("on-demand certificate refused: too many ask requests in flight", zap.String("domain", name))
		return decision{}
	}
	u := *od.ask
	q := u.Query()
	q.Set("domain", name)
	u.RawQuery = q.Encode()
	d := decision{until: time.Now().Add(refusedTTL)}
	status, err := od.get(ctx, u.String())
	switch {
	case err != nil:
		d.until = time.Now().Add(askErrorTTL)
		od.log.Warn("on-demand certificate refused: ask failed", zap.String("domain", name), zap.Error(err))
	case status == http.StatusOK:
		d = decision{allowed: true, until: time.Now().Add(allowedTTL)}
		od.log.Info("on-demand certificate allowed by ask", zap.String("domain", name))
	default:
		od.log.Info("on-demand certificate refused by ask", zap.String("domain", name), zap.Int("status", status))
	}
	od.mu.Lock()
	defer od.mu.Unlock()
	if len(od.decisions) >= maxDecisions {
		od.evict(time.Now())
	}
	od.decisions[name] = d
	return d
}

// get sends GET url and returns the status.
func (od *onDemand) get(ctx context.Context, u string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := od.client.Do(req)
	if err != nil {
		return 0, errors.New(config.RedactText(err.Error()))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// evict drops expired decisions, then the soonest to expire until there
// is room for one more. Callers hold od.mu.
func (od *onDemand) evict(now time.Time) {
	for n, d := range od.decisions {
		if now.After(d.until) {
			delete(od.decisions, n)
		}
	}
	if len(od.decisions) < maxDecisions {
		return
	}
	names := make([]string, 0, len(od.decisions))
	for n := range od.decisions {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return od.decisions[names[i]].until.Before(od.decisions[names[j]].until) })
	for _, n := range names[:len(names)-maxDecisions+1] {
		delete(od.decisions, n)
	}
}

// syncOnDemand keeps the routers with tls.onDemand whose resolver has
// onDemand, for handshakes to find.
func (m *Manager) syncOnDemand(cfg *config.Config) {
	var out []odRouter
	for name, rt := range cfg.HTTP.Routers {
		if rt == nil || rt.TLS == nil || !rt.TLS.OnDemand {
			continue
		}
		r := m.resolvers[rt.TLS.CertResolver]
		if r == nil || r.ext.od == nil {
			continue
		}
		compiled, err := rule.Compile(rt.Rule)
		if err != nil {
			continue // the router is disabled, with its error
		}
		out = append(out, odRouter{name: name, resolver: r, hosts: compiled.Hosts()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	m.ext.odRouters.Store(&out)
}

// requests reads the configuration's certificate requests and refreshes
// the on-demand routers.
func (m *Manager) requests(cfg *config.Config) []Request {
	m.syncOnDemand(cfg)
	return RequestsWith(cfg, m.capability, m.rules.get)
}

// capability tells what resolver name can do.
func (m *Manager) capability(name string) Capability {
	r := m.resolvers[name]
	if r == nil {
		return Capability{}
	}
	return Capability{Known: true, DNS01: r.ext.dns, OnDemand: r.ext.od != nil}
}

// lookup returns the resolver managing name: its own, else that of the
// wildcard one label up.
func (m *Manager) lookup(name string) *resolver {
	live := *m.live.Load()
	if r := live[name]; r != nil {
		return r
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return live["*"+name[i:]]
	}
	return nil
}

// onDemandCertificate returns the certificate of a name no router lists,
// for a router with tls.onDemand: from the cache, from storage, or ordered
// during this handshake when the ask URL allows it and the rate limit has
// room. Concurrent handshakes for one name wait for one order. It returns
// nil (the caller serves the default certificate) otherwise.
func (m *Manager) onDemandCertificate(hello *tls.ClientHelloInfo, name string) (*tls.Certificate, error) {
	rts := m.ext.odRouters.Load()
	if rts == nil || len(*rts) == 0 || name == "" || net.ParseIP(name) != nil || strings.Contains(name, "*") || Decide(name) != nil {
		return nil, nil
	}
	var rt *odRouter
	for i := range *rts {
		if c := &(*rts)[i]; c.hosts == nil || containsString(c.hosts, name) {
			rt = c
			break
		}
	}
	if rt == nil {
		return nil, nil
	}
	od := rt.resolver.ext.od
	ctx, cancel := context.WithTimeout(context.WithValue(hello.Context(), routerKey{}, rt), onDemandObtainTimeout)
	defer cancel()
	cert, err := od.cfg.GetCertificateWithContext(ctx, hello)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		od.log.Debug("no on-demand certificate", zap.String("domain", name), zap.Error(err))
		return nil, nil
	}
	m.ext.mu.Lock()
	if st := m.ext.odStatus[name]; st != nil && st.State == StatePending { // loaded from storage
		st.State = StateValid
	}
	m.ext.mu.Unlock()
	return cert, nil
}

// routerKey carries the *odRouter of a handshake to the DecisionFunc.
type routerKey struct{}

// allowed records a name the ask URL allowed, with its resolver and the
// router the handshake matched.
func (m *Manager) allowed(ctx context.Context, name string) {
	rt, _ := ctx.Value(routerKey{}).(*odRouter)
	if rt == nil {
		return
	}
	m.ext.mu.Lock()
	defer m.ext.mu.Unlock()
	if m.ext.odNames == nil {
		m.ext.odNames, m.ext.odStatus = map[string]*resolver{}, map[string]*nameStatus{}
	}
	m.ext.odNames[name] = rt.resolver
	if m.ext.odStatus[name] == nil {
		m.ext.odStatus[name] = &nameStatus{Resolver: rt.resolver.name, Routers: []string{rt.name}, State: StatePending}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// onDemandEvent applies the rate limit to on-demand orders (renewals
// included) and records their outcome for the API, the logs and metrics.
func (m *Manager) onDemandEvent(r *resolver, event string, data map[string]any) error {
	name, _ := data["identifier"].(string)
	name = normalize(name)
	if name == "" {
		return nil
	}
	od := r.ext.od
	set := func(f func(st *nameStatus)) {
		m.ext.mu.Lock()
		defer m.ext.mu.Unlock()
		if st := m.ext.odStatus[name]; st != nil {
			f(st)
		}
	}
	switch event {
	case "cert_obtaining":
		if !od.limit.allow(time.Now()) {
			od.log.Warn("on-demand order refused by the rate limit", zap.String("domain", name),
				zap.Int("burst", od.limit.burst), zap.Duration("interval", od.limit.interval))
			set(func(st *nameStatus) { st.State, st.Error = StateFailed, errRateLimited.Error() })
			return certmagic.ErrNoRetry{Err: errRateLimited}
		}
		set(func(st *nameStatus) {
			st.State, st.Attempts, st.LastAttempt = StateObtaining, st.Attempts+1, time.Now()
		})
	case "cert_obtained":
		set(func(st *nameStatus) { st.State, st.Error = StateValid, "" })
		if m.onOrder != nil {
			m.onOrder(r.name, "success")
		}
		od.log.Info("certificate obtained on demand", zap.String("domain", name),
			zap.Bool("renewal", data["renewal"] == true))
	case "cert_failed":
		err, _ := data["error"].(error)
		detail := problemDetail(err)
		set(func(st *nameStatus) { st.State, st.Error = StateFailed, detail })
		if m.onOrder != nil {
			m.onOrder(r.name, "failure")
		}
		od.log.Error("on-demand certificate order failed", zap.String("domain", name), zap.String("problem", detail))
	}
	return nil
}

// onDemandConfig returns the on-demand configuration that maintains a
// certificate obtained on demand, or nil.
func (m *Manager) onDemandConfig(names []string) *certmagic.Config {
	m.ext.mu.Lock()
	defer m.ext.mu.Unlock()
	for _, n := range names {
		if r := m.ext.odNames[normalize(n)]; r != nil && r.ext.od != nil {
			return r.ext.od.cfg
		}
	}
	return nil
}

// onDemandStatuses returns the state of the names obtained on demand.
func (m *Manager) onDemandStatuses() []CertificateStatus {
	m.ext.mu.Lock()
	defer m.ext.mu.Unlock()
	out := make([]CertificateStatus, 0, len(m.ext.odStatus))
	for name, st := range m.ext.odStatus {
		cs := CertificateStatus{Domain: name, Resolver: st.Resolver, Routers: st.Routers, Status: st.State,
			Error: st.Error, Attempts: st.Attempts, OnDemand: true}
		if !st.LastAttempt.IsZero() {
			t := st.LastAttempt
			cs.LastAttempt = &t
		}
		out = append(out, cs)
	}
	return out
}

// extendResolver adds DNS-01 (tmpl's solver) and on-demand TLS to a
// resolver being made; tmpl is its issuer template, complete otherwise.
func (m *Manager) extendResolver(r *resolver, c *Config, storage certmagic.Storage, keys certmagic.KeyGenerator, tmpl *certmagic.ACMEIssuer, log *zap.Logger) error {
	solver, err := newDNSSolver(r.name, c.DNSChallenge, log)
	if err != nil {
		return err
	}
	if solver != nil {
		tmpl.DNS01Solver = solver
		r.ext.dns = true
		if c.HTTPChallenge != nil || c.TLSChallenge != nil {
			log.Warn("dnsChallenge is set: every name of this resolver is solved with DNS-01, httpChallenge and tlsChallenge are not used")
		}
	}
	if c.OnDemand != nil {
		return m.newOnDemand(r, c.OnDemand, storage, keys, *tmpl, log)
	}
	return nil
}
