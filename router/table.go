// Package router turns a merged dynamic configuration into an immutable
// routing table (Build), swaps tables atomically (Switcher) and serves
// entry points with them.
package router

import (
	"crypto/tls"
	"net/http"
	"sort"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/metrics"
	"github.com/ferryproxy/ferry/router/rule"
)

// route is one enabled router bound to an entry point.
type route struct {
	name     string
	service  string
	priority int
	rule     *rule.Rule
	handler  http.Handler

	metrics, serviceMetrics *metrics.Observer // nil when off

	// clientAuth holds, by entry point, the TLS configuration of the
	// router's options when they ask for client certificates (nil
	// otherwise): the router is served only on connections whose handshake
	// used it (tlsselect.go).
	clientAuth []*tls.Config

	// What the handler is made of, so that the next build can tell it is
	// unchanged: the service (nil for an internal one) and the middlewares.
	svc *service
	mws []*builtMiddleware
	// binds are the route sets the route is in.
	binds []bind
}

// bind names one route set: an entry point's plain or TLS routes.
type bind struct {
	ep     int
	secure bool
}

// before orders routes: higher priority first, then by name for stability.
func (r *route) before(o *route) bool {
	if r.priority != o.priority {
		return r.priority > o.priority
	}
	return r.name < o.name
}

// routeSet is the routes of one entry point for one kind of connection
// (plain or TLS). Routes whose rule requires a host are indexed by host,
// those of wildcard hosts (Host(`*.example.com`)) by parent domain; the
// rest are tried for every host. The lists are sorted, and lookup merges
// them by priority without allocating.
type routeSet struct {
	byHost   map[string][]*route
	byParent map[string][]*route // wildcard routes by parent domain: example.com for *.example.com
	any      []*route
}

// empty reports whether the set has no route.
func (s *routeSet) empty() bool {
	return len(s.any) == 0 && len(s.byHost) == 0 && len(s.byParent) == 0
}

// match returns the highest-priority route matching req, or nil: it
// merges the routes of the request's host, of its parent domain's
// wildcard and of any host, in priority order.
func (s *routeSet) match(req *rule.Request) *route {
	hosted := s.byHost[req.Host]
	var wild []*route
	if len(s.byParent) > 0 {
		wild = s.byParent[rule.ParentDomain(req.Host)]
	}
	anyHost := s.any
	for len(hosted) > 0 || len(wild) > 0 || len(anyHost) > 0 {
		var r *route
		switch {
		case len(hosted) > 0 && (len(wild) == 0 || hosted[0].before(wild[0])) &&
			(len(anyHost) == 0 || hosted[0].before(anyHost[0])):
			r, hosted = hosted[0], hosted[1:]
		case len(wild) > 0 && (len(anyHost) == 0 || wild[0].before(anyHost[0])):
			r, wild = wild[0], wild[1:]
		default:
			r, anyHost = anyHost[0], anyHost[1:]
		}
		if r.rule.Match(req) {
			return r
		}
	}
	return nil
}

// entryRoutes holds an entry point's routes.
type entryRoutes struct {
	plain, secure routeSet
}

// Table is an immutable routing table built from one configuration.
type Table struct {
	entries  []entryRoutes // by EntryPoint index
	services map[string]*service
	mws      map[string]*builtMiddleware
	certs    *certStore
	tcp      *tcpTable // layer 4 routes and services
	udp      *udpTable // datagram routes and services
	// transports are the servers transports, reused by the next build when unchanged (transports.go)
	transports *transportSet
	// tls holds the TLS options and their choice per server name (tlsoptions.go)
	tls *tlsTable
	// ruleSyntax is BuildOptions.DefaultRuleSyntax, for compiling rules again (explain.go)
	ruleSyntax string
	// entryPoints are BuildOptions.EntryPoints: the next build reuses the
	// routes only when its entry points are the same.
	entryPoints []EntryPoint
	// validation is what config.ValidateNext found, for the next build.
	validation *config.Validation
	// names are the sorted names of the configuration's HTTP objects.
	names struct{ routers, services, middlewares []string }
	// routeCount is the number of routers with a route.
	routeCount int

	config      *config.Config
	problems    []config.Problem
	routers     map[string]*RouterInfo
	serviceInfo map[string]*ServiceInfo
	middlewares map[string]*MiddlewareInfo
}

// Config returns the configuration the table was built from.
func (t *Table) Config() *config.Config { return t.config }

// Problems returns every problem found while building, sorted.
func (t *Table) Problems() []config.Problem { return t.problems }

// RouterInfo is a router's definition and state, as the API shows it.
type RouterInfo struct {
	*config.Router
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	Using    []string `json:"using,omitempty"`
	// Warnings say what is not served as configured, on a router that is
	// served (its TLS options overridden by the default ones).
	Warnings []string `json:"warnings,omitempty"`

	rule   *rule.Rule  // the compiled rule; nil when it has none or it does not compile
	syntax rule.Syntax // the syntax rule was compiled in
	route  *route      // the route serving it; nil when disabled
}

// ServiceInfo is a service's definition and state, as the API shows it.
type ServiceInfo struct {
	*config.Service
	Name         string            `json:"name"`
	Provider     string            `json:"provider"`
	Status       string            `json:"status"`
	Error        []string          `json:"error,omitempty"`
	UsedBy       []string          `json:"usedBy,omitempty"`
	ServerStatus map[string]string `json:"serverStatus,omitempty"`
	// ServerHealth details each server's state: status, last check error,
	// last change, requests in flight.
	ServerHealth map[string]ServerHealth `json:"serverHealth,omitempty"`
}

// MiddlewareInfo is a middleware's definition and state, as the API shows it.
type MiddlewareInfo struct {
	*config.Middleware
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// Status values.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Routers returns every router, sorted by name.
func (t *Table) Routers() []RouterInfo {
	out := make([]RouterInfo, 0, len(t.routers))
	for _, r := range t.routers {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Services returns every service with its live server status, sorted by name.
func (t *Table) Services() []ServiceInfo {
	out := make([]ServiceInfo, 0, len(t.serviceInfo))
	for name, s := range t.serviceInfo {
		info := *s
		if svc := t.services[name]; svc != nil && svc.lb != nil {
			info.ServerHealth = svc.lb.serverHealth()
			info.ServerStatus = make(map[string]string, len(info.ServerHealth))
			for u, h := range info.ServerHealth {
				info.ServerStatus[u] = h.Status
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Middlewares returns every middleware, sorted by name.
func (t *Table) Middlewares() []MiddlewareInfo {
	out := make([]MiddlewareInfo, 0, len(t.middlewares))
	for _, m := range t.middlewares {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// certificate returns the certificate for an SNI name, or nil.
func (t *Table) certificate(name string) *tls.Certificate {
	if t.certs == nil {
		return nil
	}
	return t.certs.get(name)
}

// checkers returns the active health checkers the table's services use.
func (t *Table) checkers() []*health.Checker {
	var out []*health.Checker
	for _, svc := range t.services {
		if svc.lb != nil {
			out = svc.lb.checkers(out)
		}
	}
	return out
}
