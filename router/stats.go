package router

import (
	"hash/fnv"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/health"
)

// liveStats are Ferry's own counters for the dashboard, kept whether or
// not Prometheus metrics are on: requests and failures by entry point,
// open connections, and when each provider last sent an update. The zero
// value is ready; the request path costs two atomic additions.
type liveStats struct {
	eps atomic.Pointer[[]*requestCounters] // by entry point index, grown on demand

	mu        sync.Mutex
	conns     map[connKey]*atomic.Int64
	providers map[string]time.Time
}

// requestCounters count one entry point's requests.
type requestCounters struct {
	requests, clientErrors, serverErrors atomic.Uint64
}

type connKey struct{ entryPoint, protocol string }

// request counts a request answered with status on entry point ep.
func (s *liveStats) request(ep, status int) {
	c := s.counters(ep)
	c.requests.Add(1)
	switch {
	case status >= 500:
		c.serverErrors.Add(1)
	case status >= 400:
		c.clientErrors.Add(1)
	}
}

// counters returns entry point ep's counters, growing the list when it is
// too short. A longer list shares the counters of the one it replaces.
func (s *liveStats) counters(ep int) *requestCounters {
	if p := s.eps.Load(); p != nil && ep < len(*p) {
		return (*p)[ep]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.eps.Load()
	if p == nil || ep >= len(*p) {
		grown := make([]*requestCounters, ep+1)
		if p != nil {
			copy(grown, *p)
		}
		for i := range grown {
			if grown[i] == nil {
				grown[i] = new(requestCounters)
			}
		}
		p = &grown
		s.eps.Store(p)
	}
	return (*p)[ep]
}

// Gauge counts things that open and close (connections, sessions). A
// Prometheus gauge is one.
type Gauge interface {
	Inc()
	Dec()
}

// countingGauge counts for the dashboard and passes the count on.
type countingGauge struct {
	n    *atomic.Int64
	next Gauge // nil: none
}

func (g countingGauge) Inc() {
	g.n.Add(1)
	if g.next != nil {
		g.next.Inc()
	}
}

func (g countingGauge) Dec() {
	g.n.Add(-1)
	if g.next != nil {
		g.next.Dec()
	}
}

// CountConnections returns a gauge of entry point ep's open connections of
// a protocol (HTTP, TCP, UDP) that the dashboard reads; it passes every
// change on to next (the Prometheus gauge) when next is not nil.
func (s *Switcher) CountConnections(ep, protocol string, next Gauge) Gauge {
	st := &s.live
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.conns == nil {
		st.conns = map[connKey]*atomic.Int64{}
	}
	k := connKey{ep, protocol}
	n := st.conns[k]
	if n == nil {
		n = new(atomic.Int64)
		st.conns[k] = n
	}
	return countingGauge{n: n, next: next}
}

// ProviderUpdated records that provider sent an update now.
func (s *Switcher) ProviderUpdated(provider string) {
	st := &s.live
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.providers == nil {
		st.providers = map[string]time.Time{}
	}
	st.providers[provider] = time.Now()
}

// Stats are the switcher's counters at one moment.
type Stats struct {
	// Time is when they were read.
	Time time.Time
	// EntryPoints are the counters of each entry point that counted
	// something, by name.
	EntryPoints map[string]EntryPointStats
	// ProviderUpdates are the times of each provider's last update.
	ProviderUpdates map[string]time.Time
}

// EntryPointStats are one entry point's counters.
type EntryPointStats struct {
	// Requests, ClientErrors (4xx) and ServerErrors (5xx) count the HTTP
	// requests served since start.
	Requests, ClientErrors, ServerErrors uint64
	// Connections are the open connections by protocol (HTTP, TCP, UDP).
	Connections map[string]int64
}

// Stats reads the switcher's counters.
func (s *Switcher) Stats() Stats {
	out := Stats{Time: time.Now(), EntryPoints: map[string]EntryPointStats{}, ProviderUpdates: map[string]time.Time{}}
	if p := s.live.eps.Load(); p != nil {
		for i := range *p {
			if i >= len(s.entryPoints) {
				break
			}
			c := (*p)[i]
			out.EntryPoints[s.entryPoints[i].Name] = EntryPointStats{Requests: c.requests.Load(),
				ClientErrors: c.clientErrors.Load(), ServerErrors: c.serverErrors.Load()}
		}
	}
	st := &s.live
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, n := range st.conns {
		e := out.EntryPoints[k.entryPoint]
		if e.Connections == nil {
			e.Connections = map[string]int64{}
		}
		e.Connections[k.protocol] = n.Load()
		out.EntryPoints[k.entryPoint] = e
	}
	for p, t := range st.providers {
		out.ProviderUpdates[p] = t
	}
	return out
}

// EntryPoints returns the HTTP entry points the switcher serves.
func (s *Switcher) EntryPoints() []EntryPoint { return s.entryPoints }

// Explain answers ExplainRequest with the live table.
func (s *Switcher) Explain(req ExplainRequest) (*Explanation, error) {
	return s.Table().Explain(s.entryPoints, req)
}

// ObjectCount is how many objects of a kind have a status, from a provider.
type ObjectCount struct {
	Kind     config.Kind `json:"kind"`
	Status   string      `json:"status"`
	Provider string      `json:"provider"`
	N        int         `json:"n"`
}

// ObjectCounts counts the table's objects by kind, status and provider.
func (t *Table) ObjectCounts() []ObjectCount {
	type key struct {
		kind             config.Kind
		status, provider string
	}
	counts := map[key]int{}
	add := func(kind config.Kind, status, name string) { counts[key{kind, status, config.ProviderOf(name)}]++ }
	for name, r := range t.routers {
		add(config.KindRouter, r.Status, name)
	}
	for name, s := range t.serviceInfo {
		add(config.KindService, s.Status, name)
	}
	for name, m := range t.middlewares {
		add(config.KindMiddleware, m.Status, name)
	}
	if t.tcp != nil {
		for name, r := range t.tcp.routers {
			add(config.KindTCPRouter, r.Status, name)
		}
		for name, s := range t.tcp.svcInfo {
			add(config.KindTCPService, s.Status, name)
		}
	}
	if t.udp != nil {
		for name, r := range t.udp.routers {
			add(config.KindUDPRouter, r.Status, name)
		}
		for name, s := range t.udp.svcInfo {
			add(config.KindUDPService, s.Status, name)
		}
	}
	out := make([]ObjectCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, ObjectCount{Kind: k.kind, Status: k.status, Provider: k.provider, N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Status < b.Status
	})
	return out
}

// HealthDigest summarises the health of every server of the table's
// services in one number that changes when a server goes UP, DOWN or back
// from PENDING, or is ejected or restored, so that watchers can poll it
// cheaply. It reads atomics and hashes names; it takes no lock on the
// request path.
func (t *Table) HealthDigest() uint64 {
	now := time.Now().UnixNano()
	var sum uint64
	for name, svc := range t.services {
		if svc.lb == nil {
			continue
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(name))
		base := h.Sum64()
		for i, m := range svc.lb.members {
			state := uint64(1) // up
			if m.check != nil {
				switch m.check.State() {
				case health.Down:
					state = 2
				case health.Pending:
					state = 3
				}
			}
			if m.passive != nil && m.state.ejection.Active() && m.state.ejection.Ejected(now) {
				state += 4
			}
			sum += mix(base+uint64(i)) * state
		}
	}
	return sum
}

// mix is splitmix64's finaliser: it spreads nearby inputs far apart.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
