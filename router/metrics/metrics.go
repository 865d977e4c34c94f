// Package metrics is Ferry's Prometheus instrumentation, with Traefik's
// metric names and labels under the prefix ferry_ so that existing
// dashboards and alerts work after a prefix change.
//
// Request metrics cost almost nothing per request: an Observer holds the
// fixed label values of its entry point, router or service, resolved when
// the routing table is built, and finds the series of a (code, method,
// protocol) combination in a small copy-on-write map. A nil *Registry, and
// the nil Observers it hands out, do nothing: metrics off costs nothing.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prefix starts every metric name.
const Prefix = "ferry_"

// DefaultBuckets are the request duration histogram's buckets (Traefik's).
var DefaultBuckets = []float64{0.1, 0.3, 1.2, 5.0}

// Options choose what is measured.
type Options struct {
	// Buckets of the request duration histograms, in seconds.
	Buckets []float64
	// EntryPoints, Routers and Services enable the request metrics labelled
	// with each (Traefik's addEntryPointsLabels, addRoutersLabels,
	// addServicesLabels).
	EntryPoints, Routers, Services bool
}

// Registry holds every metric Ferry exports.
type Registry struct {
	reg  *prometheus.Registry
	opts Options

	configReloads      prometheus.Counter
	configLastReload   prometheus.Gauge
	openConnections    *prometheus.GaugeVec
	certs              *certCollector
	configObjects      *prometheus.GaugeVec
	providerLastUpdate *prometheus.GaugeVec
	providerErrors     *prometheus.CounterVec
	acmeOrders         *prometheus.CounterVec
	healthTransitions  *prometheus.CounterVec
	serverUp           *prometheus.GaugeVec
	retries            *prometheus.CounterVec

	entryPoint, router, service *requestVecs

	mu       sync.Mutex
	routers  map[routerKey]*Observer // by router and service
	services map[string]*Observer
	retried  map[string]prometheus.Counter
	up       map[serverKey]bool // the servers with an up gauge
}

type serverKey struct{ service, url string }

type routerKey struct{ router, service string }

// New makes a registry with Go's runtime and process collectors.
func New(opts Options) *Registry {
	if len(opts.Buckets) == 0 {
		opts.Buckets = DefaultBuckets
	}
	r := &Registry{reg: prometheus.NewRegistry(), opts: opts,
		routers: map[routerKey]*Observer{}, services: map[string]*Observer{}, retried: map[string]prometheus.Counter{},
		up: map[serverKey]bool{}}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + name, Help: help}, labels)
		r.reg.MustRegister(v)
		return v
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Prefix + name, Help: help}, labels)
		r.reg.MustRegister(v)
		return v
	}
	r.configReloads = counter("config_reloads_total", "Configuration reloads.").WithLabelValues()
	r.configLastReload = gauge("config_last_reload_success", "Time of the last successful configuration reload (unix seconds).").WithLabelValues()
	r.openConnections = gauge("open_connections", "Open connections, by entry point and protocol.", "entrypoint", "protocol")
	r.certs = &certCollector{vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Prefix + "tls_certs_not_after",
		Help: "Expiry of the served certificates (unix seconds)."}, []string{"cn", "sans", "serial"})}
	r.reg.MustRegister(r.certs)
	r.configObjects = gauge("config_objects", "Configuration objects by kind, status and provider.", "kind", "status", "provider")
	r.providerLastUpdate = gauge("provider_last_update_timestamp", "Time of a provider's last update (unix seconds).", "provider")
	r.providerErrors = counter("provider_errors_total", "Errors a provider met reading its source.", "provider")
	r.acmeOrders = counter("acme_orders_total", "ACME certificate orders by result.", "resolver", "result")
	r.healthTransitions = counter("health_check_transitions_total", "Server health state changes.", "service", "url", "to")
	r.serverUp = gauge("service_server_up", "Whether a server is up (1) or down (0).", "service", "url")
	r.retries = counter("service_retries_total", "Requests retried, by service.", "service")
	if opts.EntryPoints {
		r.entryPoint = r.newRequestVecs("entrypoint", "entrypoint")
	}
	if opts.Routers {
		r.router = r.newRequestVecs("router", "router", "service")
	}
	if opts.Services {
		r.service = r.newRequestVecs("service", "service")
	}
	return r
}

// Handler serves the metrics in Prometheus's text format.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// ConfigReloaded records a configuration applied at t.
func (r *Registry) ConfigReloaded(t time.Time) {
	if r == nil {
		return
	}
	r.configReloads.Inc()
	r.configLastReload.Set(float64(t.Unix()))
}

// ObjectCount is how many configuration objects of a kind, status and
// provider there are.
type ObjectCount struct {
	Kind, Status, Provider string
	N                      int
}

// SetConfigObjects replaces the configuration object counts.
func (r *Registry) SetConfigObjects(counts []ObjectCount) {
	if r == nil {
		return
	}
	r.configObjects.Reset()
	for _, c := range counts {
		r.configObjects.WithLabelValues(c.Kind, c.Status, c.Provider).Set(float64(c.N))
	}
}

// ProviderUpdated records an update from provider at t.
func (r *Registry) ProviderUpdated(provider string, t time.Time) {
	if r == nil {
		return
	}
	r.providerLastUpdate.WithLabelValues(provider).Set(float64(t.Unix()))
}

// ProviderError counts an error provider met.
func (r *Registry) ProviderError(provider string) {
	if r == nil {
		return
	}
	r.providerErrors.WithLabelValues(provider).Inc()
}

// ACMEOrder counts an ACME order's result ("success" or "failure").
func (r *Registry) ACMEOrder(resolver, result string) {
	if r == nil {
		return
	}
	r.acmeOrders.WithLabelValues(resolver, result).Inc()
}

// HealthChanged records a server's health state change (to is UP or
// DOWN) and sets its up gauge.
func (r *Registry) HealthChanged(service, url, to string) {
	if r == nil {
		return
	}
	r.healthTransitions.WithLabelValues(service, url, to).Inc()
	r.SetServerUp(service, url, to == "UP")
}

// SetServerUp sets a server's up gauge.
func (r *Registry) SetServerUp(service, url string, up bool) {
	if r == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	r.mu.Lock()
	r.up[serverKey{service, url}] = true
	r.mu.Unlock()
	r.serverUp.WithLabelValues(service, url).Set(v)
}

// retainServers deletes the up gauges of servers no longer in services.
// The caller holds r.mu.
func (r *Registry) retainServers(services map[string][]string) {
	for k := range r.up {
		keep := false
		for _, u := range services[k.service] {
			keep = keep || u == k.url
		}
		if !keep {
			delete(r.up, k)
			r.serverUp.DeleteLabelValues(k.service, k.url)
			r.healthTransitions.DeletePartialMatch(prometheus.Labels{"service": k.service, "url": k.url})
		}
	}
}

// OpenConnections returns the gauge of an entry point's open connections
// of a protocol (HTTP, TCP, UDP), or nil.
func (r *Registry) OpenConnections(entryPoint, protocol string) prometheus.Gauge {
	if r == nil {
		return nil
	}
	return r.openConnections.WithLabelValues(entryPoint, protocol)
}

// Certificate is a served certificate, for its expiry gauge.
type Certificate struct {
	CN, SANs, Serial string
	NotAfter         time.Time
}

// CertificatesFrom makes every scrape report the expiry of the
// certificates src returns.
func (r *Registry) CertificatesFrom(src func() []Certificate) {
	if r == nil {
		return
	}
	r.certs.mu.Lock()
	r.certs.src = src
	r.certs.mu.Unlock()
}

// certCollector asks for the served certificates at each scrape, so that
// renewals and removals show without bookkeeping.
type certCollector struct {
	mu  sync.Mutex
	vec *prometheus.GaugeVec
	src func() []Certificate
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vec.Reset()
	if c.src != nil {
		for _, cert := range c.src() {
			c.vec.WithLabelValues(cert.CN, cert.SANs, cert.Serial).Set(float64(cert.NotAfter.Unix()))
		}
	}
	c.vec.Collect(ch)
}

// Retried returns the retry counter of service, or nil.
func (r *Registry) Retried(service string) prometheus.Counter {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.retried[service]
	if c == nil {
		c = r.retries.WithLabelValues(service)
		r.retried[service] = c
	}
	return c
}

// statusLabel is the code label of a status.
func statusLabel(code int) string { return strconv.Itoa(code) }
