package metrics

import (
	"crypto/tls"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestVecs are the five request metrics of one scope (entry point,
// router or service): labels code, method, protocol, then the scope's own.
type requestVecs struct {
	fixed    []string // the scope's own label names
	total    *prometheus.CounterVec
	tls      *prometheus.CounterVec // tls_version, tls_cipher, then the scope's own
	duration *prometheus.HistogramVec
	reqBytes *prometheus.CounterVec
	resBytes *prometheus.CounterVec
}

func (r *Registry) newRequestVecs(scope string, fixed ...string) *requestVecs {
	labels := append([]string{"code", "method", "protocol"}, fixed...)
	v := &requestVecs{fixed: fixed,
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + scope + "_requests_total",
			Help: "Requests, by " + scope + "."}, labels),
		tls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + scope + "_requests_tls_total",
			Help: "Requests over TLS, by " + scope + "."}, append([]string{"tls_version", "tls_cipher"}, fixed...)),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: Prefix + scope + "_request_duration_seconds",
			Help: "Request durations, by " + scope + ".", Buckets: r.opts.Buckets}, labels),
		reqBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + scope + "_requests_bytes_total",
			Help: "Request body bytes, by " + scope + "."}, labels),
		resBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + scope + "_responses_bytes_total",
			Help: "Response body bytes, by " + scope + "."}, labels),
	}
	r.reg.MustRegister(v.total, v.tls, v.duration, v.reqBytes, v.resBytes)
	return v
}

// deleteMatching deletes the series that carry labels l.
func (v *requestVecs) deleteMatching(l prometheus.Labels) {
	if v == nil {
		return
	}
	v.total.DeletePartialMatch(l)
	v.tls.DeletePartialMatch(l)
	v.duration.DeletePartialMatch(l)
	v.reqBytes.DeletePartialMatch(l)
	v.resBytes.DeletePartialMatch(l)
}

// Observer records the requests of one entry point, router or service.
// A nil *Observer records nothing.
type Observer struct {
	vecs  *requestVecs
	fixed []string // the scope's own label values

	mu     sync.Mutex // serialises adding series
	series atomic.Pointer[map[uint32]*series]
	tls    atomic.Pointer[map[uint32]prometheus.Counter]
}

// series are the metrics of one (code, method, protocol).
type series struct {
	total, reqBytes, resBytes prometheus.Counter
	duration                  prometheus.Observer
}

func newObserver(v *requestVecs, fixed ...string) *Observer {
	if v == nil {
		return nil
	}
	o := &Observer{vecs: v, fixed: fixed}
	o.series.Store(&map[uint32]*series{})
	o.tls.Store(&map[uint32]prometheus.Counter{})
	return o
}

// Observe records one request answered with code after d, with
// respBytes of response body.
func (o *Observer) Observe(r *http.Request, code int, d time.Duration, respBytes int64) {
	if o == nil {
		return
	}
	method, proto := methodIndex(r.Method), protocolIndex(r)
	key := uint32(code&0x3ff)<<8 | uint32(method)<<4 | uint32(proto)
	s := (*o.series.Load())[key]
	if s == nil {
		s = o.addSeries(key, code, method, proto)
	}
	s.total.Inc()
	s.duration.Observe(d.Seconds())
	if r.ContentLength > 0 {
		s.reqBytes.Add(float64(r.ContentLength))
	}
	if respBytes > 0 {
		s.resBytes.Add(float64(respBytes))
	}
	if r.TLS != nil {
		tk := uint32(r.TLS.Version)<<16 | uint32(r.TLS.CipherSuite)
		c := (*o.tls.Load())[tk]
		if c == nil {
			c = o.addTLS(tk, r.TLS)
		}
		c.Inc()
	}
}

func (o *Observer) addSeries(key uint32, code, method, proto int) *series {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := *o.series.Load()
	if s := old[key]; s != nil {
		return s
	}
	labels := append([]string{statusLabel(code), methods[method], protocols[proto]}, o.fixed...)
	s := &series{total: o.vecs.total.WithLabelValues(labels...), duration: o.vecs.duration.WithLabelValues(labels...),
		reqBytes: o.vecs.reqBytes.WithLabelValues(labels...), resBytes: o.vecs.resBytes.WithLabelValues(labels...)}
	next := make(map[uint32]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = s
	o.series.Store(&next)
	return s
}

func (o *Observer) addTLS(key uint32, state *tls.ConnectionState) prometheus.Counter {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := *o.tls.Load()
	if c := old[key]; c != nil {
		return c
	}
	c := o.vecs.tls.WithLabelValues(append([]string{tlsVersion(state.Version), tls.CipherSuiteName(state.CipherSuite)}, o.fixed...)...)
	next := make(map[uint32]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = c
	o.tls.Store(&next)
	return c
}

// methods are the method label values; anything else is OTHER, so that a
// client cannot make series without bound.
var methods = [...]string{"OTHER", http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 1
	case http.MethodHead:
		return 2
	case http.MethodPost:
		return 3
	case http.MethodPut:
		return 4
	case http.MethodPatch:
		return 5
	case http.MethodDelete:
		return 6
	case http.MethodConnect:
		return 7
	case http.MethodOptions:
		return 8
	case http.MethodTrace:
		return 9
	}
	return 0
}

// protocols are the protocol label values (Traefik's).
var protocols = [...]string{"http", "websocket", "sse"}

func protocolIndex(r *http.Request) int {
	if up := r.Header["Upgrade"]; len(up) > 0 && strings.EqualFold(up[0], "websocket") {
		return 1
	}
	if acc := r.Header["Accept"]; len(acc) > 0 && acc[0] == "text/event-stream" {
		return 2
	}
	return 0
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return "unknown"
}

// EntryPoint returns the observer of an entry point's requests, or nil
// when entry point metrics are off.
func (r *Registry) EntryPoint(name string) *Observer {
	if r == nil {
		return nil
	}
	return newObserver(r.entryPoint, name)
}

// Router returns the observer of a router's requests to service, or nil
// when router metrics are off. The same router and service get the same
// observer, so series survive configuration swaps.
func (r *Registry) Router(router, service string) *Observer {
	if r == nil || r.router == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := routerKey{router, service}
	o := r.routers[k]
	if o == nil {
		o = newObserver(r.router, router, service)
		r.routers[k] = o
	}
	return o
}

// Service returns the observer of a service's requests, or nil when
// service metrics are off.
func (r *Registry) Service(service string) *Observer {
	if r == nil || r.service == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.services[service]
	if o == nil {
		o = newObserver(r.service, service)
		r.services[service] = o
	}
	return o
}

// Retain deletes the series of every router and service not in routers
// (router name → service) and services (service name → server URLs): the
// configuration no longer has them.
func (r *Registry) Retain(routers map[string]string, services map[string][]string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.routers {
		if svc, ok := routers[k.router]; !ok || svc != k.service {
			delete(r.routers, k)
			r.router.deleteMatching(prometheus.Labels{"router": k.router, "service": k.service})
		}
	}
	for name := range r.services {
		if _, ok := services[name]; !ok {
			delete(r.services, name)
			r.service.deleteMatching(prometheus.Labels{"service": name})
		}
	}
	for name := range r.retried {
		if _, ok := services[name]; !ok {
			delete(r.retried, name)
			r.retries.DeleteLabelValues(name)
		}
	}
	r.retainServers(services)
}
