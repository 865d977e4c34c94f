package router

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/metrics"
)

// service is the live handler of one HTTP service. It is reused as is
// across swaps while its definition and its children do not change, which
// keeps all its state; when it is rebuilt, its servers' state is carried
// over by URL.
type service struct {
	name     string
	def      *config.Service
	children map[string]*service // services it refers to, by name
	handler  http.Handler
	healthy  func() bool
	lb       *balancedService // the loadBalancer kind, else nil
	// transports reach the servers; a service is reused only with the same ones.
	transports *Transports
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// serviceDeps are what building a service needs.
type serviceDeps struct {
	transports *Transports
	registry   *health.Registry // nil: active checks are not run
	metrics    *metrics.Registry
	log        *zap.Logger
	prev       *service // the previous table's service of the same name, or nil
}

// newService builds the handler of a service whose definition passed
// validation and whose children are built.
func newService(name string, def *config.Service, children map[string]*service, deps serviceDeps) (*service, error) {
	s := &service{name: name, def: def, children: children, transports: deps.transports}
	var err error
	switch {
	case def.LoadBalancer != nil:
		var prevBalanced *balancedService
		if deps.prev != nil {
			prevBalanced = deps.prev.lb
		}
		s.lb, err = newBalancedService(name, def.LoadBalancer, deps, prevBalanced)
		if err == nil {
			s.handler, s.healthy = s.lb, s.lb.balancer.Healthy
		}
	case def.Weighted != nil:
		var w *weightedService
		w, err = newWeightedService(name, def.Weighted, children, deps.prev)
		if err == nil {
			s.handler, s.healthy = w, w.balancer.Healthy
		}
	case def.Mirroring != nil:
		m := newMirroringService(name, def.Mirroring, children, deps.log)
		s.handler, s.healthy = m, m.main.healthy
	case def.Failover != nil:
		f := &failoverService{main: children[def.Failover.Service], fallback: children[def.Failover.Fallback]}
		s.handler, s.healthy = f, f.healthy
	default:
		err = errors.New("no loadBalancer, weighted, mirroring or failover")
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sameAs reports whether s can serve def with children unchanged.
func (s *service) sameAs(def *config.Service, children map[string]*service) bool {
	if s.def != def && !reflect.DeepEqual(s.def, def) {
		return false
	}
	if len(s.children) != len(children) {
		return false
	}
	for name, c := range children {
		if s.children[name] != c {
			return false
		}
	}
	return true
}

// serverState is what is known about one server of a service beyond its
// definition. It is carried across swaps by URL.
type serverState struct {
	inFlight atomic.Int64
	ejection health.Ejection
}

// member is one server of a load balancer as built for one table.
type member struct {
	url     string
	svc     *balancedService
	state   *serverState
	check   *health.Checker // nil without an active check
	proxy   *serverProxy
	cookie  string // sticky cookie value
	passive *health.Passive
}

// availability is the member's health for the balancer: an active check's
// verdict, then a passive ejection.
func (m *member) availability() balance.Availability {
	level := balance.Available
	if m.check != nil {
		switch m.check.State() {
		case health.Down:
			return balance.Unavailable
		case health.Pending:
			level = balance.Fallback
		}
	}
	if m.passive != nil && m.state.ejection.Active() && m.state.ejection.Ejected(time.Now().UnixNano()) {
		return balance.Unavailable
	}
	return level
}

// balancedService spreads requests over servers.
type balancedService struct {
	name     string
	members  []*member
	balancer *balance.Balancer[*member]
	sticky   *sticky
	log      *zap.Logger
	metrics  *metrics.Registry // nil when off
}

func newBalancedService(name string, lb *config.LoadBalancer, deps serviceDeps, prev *balancedService) (*balancedService, error) {
	s := &balancedService{name: name, log: deps.log, metrics: deps.metrics}
	flush := time.Duration(0)
	if lb.ResponseForwarding != nil {
		flush = time.Duration(lb.ResponseForwarding.FlushInterval)
	}
	old := map[string]*member{}
	if prev != nil {
		for _, m := range prev.members {
			old[m.url] = m
		}
	}
	var passive *health.Passive
	if lb.PassiveHealthCheck != nil {
		p := health.ResolvePassive(lb.PassiveHealthCheck)
		passive = &p
	}
	var check *health.Check
	if lb.HealthCheck != nil && deps.registry != nil {
		c := health.Resolve(lb.HealthCheck)
		c.Transport = deps.transports.probes // probes go where requests go
		check = &c
	}
	nodes := make([]balance.Node[*member], 0, len(lb.Servers))
	for i, srv := range lb.Servers {
		u, err := url.Parse(srv.URL)
		if err != nil {
			return nil, fmt.Errorf("loadBalancer.servers[%d].url: %w", i, err)
		}
		m := &member{url: srv.URL, svc: s, state: new(serverState), passive: passive}
		initial := health.Pending
		if o := old[srv.URL]; o != nil {
			m.state = o.state
			if o.check != nil {
				initial = o.check.State()
			} else {
				initial = health.Up // the server was serving without a check
			}
		}
		if check != nil {
			if m.check, err = deps.registry.Checker(health.KeyOf(name, *check, srv.URL), *check, initial); err != nil {
				return nil, fmt.Errorf("loadBalancer.servers[%d].url: %w", i, err)
			}
		}
		m.proxy = newServerProxy(serverTarget(u, srv.PreservePath), lb.PassesHost(), flush, deps.transports, deps.log)
		if passive != nil {
			m.observe(*passive)
		}
		s.members = append(s.members, m)
		node := balance.Node[*member]{Weight: srv.ServerWeight(), Value: m, Load: &m.state.inFlight}
		if m.check != nil || m.passive != nil {
			node.Health = m.availability
		}
		nodes = append(nodes, node)
	}
	var err error
	if s.balancer, err = balance.New(lb.Strategy, nodes); err != nil {
		return nil, fmt.Errorf("loadBalancer.strategy: %w", err)
	}
	if prev != nil {
		s.balancer.CarryCurrent(prev.balancer, func(m *member) string { return m.url })
	}
	if lb.Sticky != nil && lb.Sticky.Cookie != nil {
		cookies := make([]string, len(s.members))
		for i, m := range s.members {
			m.cookie = stickyValue(name, m.url)
			cookies[i] = m.cookie
		}
		s.sticky = newSticky(name, lb.Sticky.Cookie, cookies)
	}
	return s, nil
}

// observe makes the member's proxy report outcomes to its passive check.
func (m *member) observe(p health.Passive) {
	m.proxy.rp.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode >= 500 && !p.ConnectionErrorsOnly {
			m.failed(p, resp.Status)
		} else if m.state.ejection.Succeeded(m.svc.log, m.svc.name, m.url) {
			m.svc.metrics.HealthChanged(m.svc.name, m.url, health.Up.String())
		}
		return nil
	}
	m.proxy.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		fe := fault.Wrap(r, err)
		if !fe.Kind.Client() {
			m.failed(p, err.Error())
		}
		proxyError(w, r, fe)
	}
}

// failed records a failure of the member's server for its passive check.
func (m *member) failed(p health.Passive, reason string) {
	if m.state.ejection.Failed(p, reason, m.svc.log, m.svc.name, m.url) {
		m.svc.metrics.HealthChanged(m.svc.name, m.url, health.Down.String())
	}
}

// ServeHTTP sends the request to the client's pinned server or the next
// one, or answers 503 when the service has none.
func (s *balancedService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.Context().Err(); err != nil {
		// The client is gone already (an HTTP/2 stream reset at once): no
		// server is dialled for it.
		proxyError(w, r, err)
		return
	}
	i, ok := pick(w, r, s.sticky, s.balancer)
	if !ok {
		noServer(w)
		return
	}
	m := s.balancer.Node(i).Value
	m.state.inFlight.Add(1)
	defer m.state.inFlight.Add(-1)
	m.proxy.ServeHTTP(w, r)
}

// noServer answers 503 and tells the recorder why.
func noServer(w http.ResponseWriter) {
	if rec := findRecorder(w); rec != nil {
		rec.noServer = true
	}
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// ServerHealth is one server's state as the API shows it.
type ServerHealth struct {
	// Status is UP, DOWN (failed its check, or ejected) or PENDING (no check passed yet).
	Status string `json:"status"`
	// LastError is why the last check failed, or why the server was ejected.
	LastError string `json:"lastError,omitempty"`
	// LastChange is when Status last changed, if it did.
	LastChange *time.Time `json:"lastChange,omitempty"`
	// InFlight is the number of requests the server is answering.
	InFlight int64 `json:"inFlight"`
	// EjectedUntil is when a passive ejection ends.
	EjectedUntil *time.Time `json:"ejectedUntil,omitempty"`
}

// serverHealth reports each server's state for the API.
func (s *balancedService) serverHealth() map[string]ServerHealth {
	out := make(map[string]ServerHealth, len(s.members))
	for _, m := range s.members {
		h := ServerHealth{Status: "UP", InFlight: m.state.inFlight.Load()}
		if m.check != nil {
			st := m.check.Status()
			h.Status, h.LastError = st.State.String(), st.LastError
			if st.State != health.Pending {
				h.LastChange = &st.LastChange
			}
		}
		if m.passive != nil {
			ej := m.state.ejection.Status()
			if ej.Ejected {
				h.Status, h.EjectedUntil = "DOWN", &ej.Until
				h.LastError = ej.LastError
			}
			if !ej.LastChange.IsZero() && (h.LastChange == nil || ej.LastChange.After(*h.LastChange)) {
				h.LastChange = &ej.LastChange
			}
		}
		out[m.url] = h
	}
	return out
}

// checkers returns the active checkers the service uses.
func (s *balancedService) checkers(out []*health.Checker) []*health.Checker {
	for _, m := range s.members {
		if m.check != nil {
			out = append(out, m.check)
		}
	}
	return out
}

// findRecorder returns the request's recorder under w, looking through
// middlewares' writers that unwrap, or nil (mirror copies have none).
func findRecorder(w http.ResponseWriter) *recorder {
	for range 16 {
		switch v := w.(type) {
		case *recorder:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
