package router

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"time"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/metrics"
)

// entryMetrics returns the observer of an entry point's requests. Handlers
// of the same entry point (plain and TLS) share it.
func (s *Switcher) entryMetrics(name string) *metrics.Observer {
	if s.metrics == nil {
		return nil
	}
	s.epMetricsMu.Lock()
	defer s.epMetricsMu.Unlock()
	if s.epMetrics == nil {
		s.epMetrics = map[string]*metrics.Observer{}
	}
	o := s.epMetrics[name]
	if o == nil {
		o = s.metrics.EntryPoint(name)
		s.epMetrics[name] = o
	}
	return o
}

// epObservers guards the entry points' observers.
type epObservers struct {
	epMetricsMu sync.Mutex
	epMetrics   map[string]*metrics.Observer
}

// observe records a served request in the entry point's, router's and
// service's metrics, and the retries it took.
func (h *entryHandler) observe(rt *route, rec *recorder, r *http.Request) {
	if h.metrics == nil && (rt == nil || (rt.metrics == nil && rt.serviceMetrics == nil)) {
		return
	}
	d := time.Since(rec.start)
	h.metrics.Observe(r, rec.status, d, rec.size)
	if rt == nil {
		return
	}
	rt.metrics.Observe(r, rec.status, d, rec.size)
	rt.serviceMetrics.Observe(r, rec.status, d, rec.size)
	if rec.retries > 0 {
		if c := h.sw.metrics.Retried(rt.service); c != nil {
			c.Add(float64(rec.retries))
		}
	}
}

// report tells the metrics what the table holds: the reload, the objects
// by kind, status and provider, which routers, services and servers exist
// (the series of others are deleted) and whether each server is up.
func (t *Table) report(m *metrics.Registry) {
	if m == nil {
		return
	}
	m.ConfigReloaded(time.Now())
	counts := t.ObjectCounts()
	out := make([]metrics.ObjectCount, len(counts))
	for i, c := range counts {
		out[i] = metrics.ObjectCount{Kind: string(c.Kind), Status: c.Status, Provider: c.Provider, N: c.N}
	}
	m.SetConfigObjects(out)

	routers := make(map[string]string, len(t.routers))
	for name, r := range t.routers {
		routers[name] = r.Router.Service
	}
	services := make(map[string][]string, len(t.services))
	for name, s := range t.services {
		services[name] = nil
		if s.lb == nil {
			continue
		}
		for _, mb := range s.lb.members {
			services[name] = append(services[name], mb.url)
			m.SetServerUp(name, mb.url, mb.availability() != balance.Unavailable)
		}
	}
	m.Retain(routers, services)
}

// Certificates returns the leaf of every certificate the live table serves
// from tls.certificates, once each.
func (s *Switcher) Certificates() []*x509.Certificate {
	t := s.table.Load()
	if t.certs == nil {
		return nil
	}
	seen := map[*tls.Certificate]bool{}
	var out []*x509.Certificate
	for _, m := range []map[string]*tls.Certificate{t.certs.exact, t.certs.wildcard} {
		for _, c := range m {
			if seen[c] {
				continue
			}
			seen[c] = true
			if leaf := leafOf(c); leaf != nil {
				out = append(out, leaf)
			}
		}
	}
	return out
}

// leafOf returns c's parsed leaf certificate, or nil.
func leafOf(c *tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
