package router

import (
	"crypto/tls"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/metrics"
	"github.com/ferryproxy/ferry/router/ocsp"
	"github.com/ferryproxy/ferry/router/rule"
	"github.com/ferryproxy/ferry/router/tracing"
)

// Switcher holds the live table behind an atomic pointer and serves
// requests with whatever table is current. Apply swaps in a new table;
// requests in flight finish on the table they started with.
type Switcher struct {
	log         *zap.Logger
	entryPoints []EntryPoint
	transports  *Transports
	access      *AccessLog
	defaultCert *tls.Certificate
	certSource  CertificateSource
	ocsp        *ocsp.Stapler // nil: no stapling of tls.certificates
	udpEPs      []string
	health      *health.Registry // active health checkers, shared by every table
	metrics     *metrics.Registry
	tracer      *tracing.Tracer // nil when off
	internal    map[string]http.Handler
	ruleSyntax  string // core.defaultRuleSyntax (BuildOptions.DefaultRuleSyntax)
	epObservers
	live liveStats // the dashboard's counters (stats.go)

	recorders recorderPool
	applyMu   sync.Mutex // serialises Apply
	table     atomic.Pointer[Table]
}

// SwitcherOptions configure a Switcher.
type SwitcherOptions struct {
	EntryPoints []EntryPoint
	Transports  *Transports
	// AccessLog, when not nil, receives one line per request.
	AccessLog *AccessLog
	// DefaultCertificate is served when no certificate matches the SNI name.
	DefaultCertificate *tls.Certificate
	// Certificates, when not nil, supplies certificates obtained
	// automatically (ACME): tried after tls.certificates and before the
	// default certificate, and asked first for TLS-ALPN-01 challenges.
	Certificates CertificateSource
	// UDPEntryPoints are the names of the UDP entry points (see BuildOptions).
	UDPEntryPoints []string
	// OCSP, when not nil, staples OCSP responses to tls.certificates; the
	// switcher tells it the certificates of every table it applies.
	OCSP *ocsp.Stapler
	// Metrics, when not nil, measures requests, configuration and health.
	Metrics *metrics.Registry
	// Internal, when set, returns Ferry's own services (api@internal…),
	// which may need the switcher itself.
	Internal func(*Switcher) map[string]http.Handler
	// DefaultRuleSyntax is the rule syntax of routers without ruleSyntax
	// (see BuildOptions).
	DefaultRuleSyntax string
}

// CertificateSource supplies certificates the configuration does not hold.
type CertificateSource interface {
	// GetCertificate returns the certificate for a handshake, or nil when
	// it has none for the name.
	GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
	// IsChallenge reports whether the handshake is a TLS-ALPN-01 validation.
	IsChallenge(hello *tls.ClientHelloInfo) bool
}

// NewSwitcher returns a switcher serving an empty table (every request 404).
func NewSwitcher(log *zap.Logger, opts SwitcherOptions) *Switcher {
	s := &Switcher{
		log:         log,
		entryPoints: opts.EntryPoints,
		transports:  opts.Transports,
		access:      opts.AccessLog,
		defaultCert: opts.DefaultCertificate,
		certSource:  opts.Certificates,
		ocsp:        opts.OCSP,
		udpEPs:      opts.UDPEntryPoints,
		metrics:     opts.Metrics,
		ruleSyntax:  opts.DefaultRuleSyntax,
	}
	if opts.Transports != nil {
		s.tracer = opts.Transports.Tracer
	}
	if opts.Internal != nil {
		s.internal = opts.Internal(s)
	}
	s.health = newHealthRegistry(log, opts.Transports, opts.Metrics)
	s.table.Store(Build(Input{}, BuildOptions{EntryPoints: opts.EntryPoints, Transports: opts.Transports, Log: log,
		UDPEntryPoints: opts.UDPEntryPoints}))
	return s
}

// Table returns the live table.
func (s *Switcher) Table() *Table { return s.table.Load() }

// Apply builds a table from in, reusing the live table's unchanged
// services, and swaps it in. Problems that were not reported by the
// previous table are logged once.
func (s *Switcher) Apply(in Input) *Table {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	start := time.Now()
	prev := s.table.Load()
	t := Build(in, BuildOptions{EntryPoints: s.entryPoints, Transports: s.transports, Log: s.log, Previous: prev,
		Health: s.health, UDPEntryPoints: s.udpEPs, Internal: s.internal, Metrics: s.metrics, TLSCertificates: s,
		DefaultRuleSyntax: s.ruleSyntax})
	s.table.Store(t)
	s.health.Sync(t.checkers()) // start the new table's checks, stop those it no longer uses
	retireTransports(prev, t)   // close the pools of servers transports t no longer uses (transports.go)
	// Staple OCSP responses to the new files' certificates (ocspsource.go).
	s.ocsp.Track(t.fileCertificates())
	t.report(s.metrics)
	seen := make(map[config.Problem]bool, len(prev.problems))
	for _, p := range prev.problems {
		seen[p] = true
	}
	for _, p := range t.problems {
		if !seen[p] {
			s.log.Error("configuration object disabled", zap.String("kind", string(p.Kind)), zap.String("name", p.Name),
				zap.String("field", p.Field), zap.String("reason", p.Message), zap.String("origin", p.Origin))
		}
	}
	enabled := 0
	for _, r := range t.routers {
		if r.Status == StatusEnabled {
			enabled++
		}
	}
	s.log.Info("configuration applied", zap.Int("routers", len(t.routers)), zap.Int("routersEnabled", enabled),
		zap.Int("services", len(t.services)), zap.Int("problems", len(t.problems)), zap.Duration("build", time.Since(start)))
	return t
}

// GetCertificate picks the certificate for a TLS handshake: a TLS-ALPN-01
// challenge's from the certificate source, else tls.certificates of the
// live table, then the source's (ACME), then the default certificate.
func (s *Switcher) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.certSource != nil && s.certSource.IsChallenge(hello) {
		return s.certSource.GetCertificate(hello)
	}
	if c := s.table.Load().certificate(hello.ServerName); c != nil {
		return s.ocsp.Staple(c), nil // with its OCSP staple when it has one
	}
	if s.certSource != nil {
		if c, err := s.certSource.GetCertificate(hello); c != nil && err == nil {
			return c, nil
		}
	}
	return s.fallbackCertificate(hello), nil // the default store's, else self-signed (tlsselect.go)
}

// Handler returns the HTTP handler of entry point index ep for plain
// (secure=false) or TLS (secure=true) connections.
func (s *Switcher) Handler(ep int, secure bool) http.Handler {
	name := s.entryPoints[ep].Name
	return &entryHandler{sw: s, ep: ep, secure: secure, name: name, metrics: s.entryMetrics(name)}
}

type entryHandler struct {
	sw      *Switcher
	ep      int
	secure  bool
	name    string
	metrics *metrics.Observer // nil when off
}

func (h *entryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stripClientCertHeaders(r.Header) // only passTLSClientCert sets them (tlsselect.go)
	t := h.sw.table.Load()
	set := &t.entries[h.ep].plain
	if h.secure {
		set = &t.entries[h.ep].secure
	}
	r, span := h.sw.tracer.StartRequest(r, h.name)
	rec := h.sw.recorders.get(w)
	// The match input lives in the pooled recorder so it costs no allocation.
	rec.match = rule.Request{HTTP: r, Host: rule.NormalizeHost(r.Host), Path: rule.RoutingPath(r.URL)}
	rt := set.match(&rec.match)
	// Other TLS options than the connection's, for the host or the router (tlsselect.go).
	misdirected := h.secure && (t.misdirected(h.ep, rec.match.Host, r) || rt != nil && t.withoutClientAuth(h.ep, rt, r))
	if misdirected {
		rt = nil
	}
	if rt != nil {
		span.SetRoute(rt.name, rt.service)
	}
	if misdirected {
		http.Error(rec, "Misdirected Request", http.StatusMisdirectedRequest)
	} else if rt == nil {
		http.NotFound(rec, r)
	} else if rt.handler == nil {
		http.Error(rec, "Service Unavailable", http.StatusServiceUnavailable)
	} else {
		rt.handler.ServeHTTP(rec, r)
	}
	if rt != nil && (rec.proxyErr != nil || rec.noServer) {
		h.logFailure(rt, rec, r)
	}
	span.CaptureResponseHeaders(rec.Header())
	span.End(rec.status, rec.size, rec.proxyErr)
	h.observe(rt, rec, r)
	h.sw.live.request(h.ep, rec.status) // the dashboard's counters (stats.go)
	if h.sw.access != nil {
		routerName := ""
		if rt != nil {
			routerName = rt.name
		}
		h.sw.access.Log(r, rec.status, rec.size, rec.start, h.name, routerName, span.TraceID())
	}
	aborted := rec.aborted
	h.sw.recorders.put(rec)
	if aborted {
		// The client went away (499): close its connection (HTTP/1) or
		// reset its stream (HTTP/2) rather than send anything.
		panic(http.ErrAbortHandler)
	}
}

func (h *entryHandler) logFailure(rt *route, rec *recorder, r *http.Request) {
	if fault.IsClient(rec.proxyErr) {
		if ce := h.sw.log.Check(zapcore.DebugLevel, "client failed the request"); ce != nil {
			ce.Write(zap.String("router", rt.name), zap.String("service", rt.service), zap.Int("status", rec.status),
				zap.String("path", r.URL.Path), zap.Error(rec.proxyErr))
		}
		return
	}
	msg, err := "no server answered", rec.proxyErr
	if rec.noServer {
		msg = "service has no server"
	}
	if ce := h.sw.log.Check(zapcore.WarnLevel, msg); ce != nil {
		ce.Write(zap.String("router", rt.name), zap.String("service", rt.service), zap.Int("status", rec.status),
			zap.String("host", r.Host), zap.String("path", r.URL.Path), zap.Error(err))
	}
}
