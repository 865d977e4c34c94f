package config

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Load balancing strategies (LoadBalancer.Strategy).
const (
	StrategyWRR       = "wrr"
	StrategyP2C       = "p2c"
	StrategyLeastConn = "leastconn"
)

// Health check defaults.
const (
	// DefaultCheckInterval is how often a server is probed when healthCheck.interval is unset.
	DefaultCheckInterval = 5 * time.Second
	// DefaultCheckTimeout bounds one probe when healthCheck.timeout is unset.
	DefaultCheckTimeout = 2 * time.Second
	// DefaultFailureWindow is passiveHealthCheck.failureWindow when unset.
	DefaultFailureWindow = 10 * time.Second
	// DefaultMirrorMaxBodySize is mirroring.maxBodySize when unset: larger bodies are not mirrored.
	DefaultMirrorMaxBodySize = 1 << 20
)

// HealthCheck is an active health check: every server of the load balancer
// is probed on its own; a failed probe takes the server out of rotation and
// a passing one brings it back.
type HealthCheck struct {
	// Path is the request path of the probe, e.g. /health (default /).
	Path string `json:"path,omitempty"`
	// Port probes this port instead of the server's.
	Port int `json:"port,omitempty"`
	// Scheme probes with http or https instead of the server's scheme.
	Scheme string `json:"scheme,omitempty"`
	// Hostname is the Host header of the probe (default: the server's host).
	Hostname string `json:"hostname,omitempty"`
	// Method is the probe's HTTP method (default GET).
	Method string `json:"method,omitempty"`
	// Headers are added to the probe.
	Headers map[string]string `json:"headers,omitempty"`
	// Interval is the time between probes of a healthy server (default 5s).
	Interval Duration `json:"interval,omitempty"`
	// UnhealthyInterval is the time between probes of an unhealthy server (default: Interval).
	UnhealthyInterval Duration `json:"unhealthyInterval,omitempty"`
	// Timeout bounds one probe (default 2s); no answer in time is a failure.
	Timeout Duration `json:"timeout,omitempty"`
	// Status is the answer that passes: one code (200) or a range (200-299). Default: 200-399.
	Status StatusRange `json:"status,omitempty"`
	// FollowRedirects follows redirects and judges the final answer (default true).
	FollowRedirects *bool `json:"followRedirects,omitempty"`
	// StartHealthy lets a server added to the service take requests before its first probe
	// passes. By default (false) a new server waits for its first passing probe, unless no
	// other server of the service is up.
	StartHealthy bool `json:"startHealthy,omitempty"`
	// Mode is http (default) or grpc: the gRPC health checking protocol
	// (grpc.health.v1.Health/Check for the whole server), which passes on
	// SERVING; Path, Method, Status and FollowRedirects do not apply.
	Mode string `json:"mode,omitempty"`
}

// PassiveHealthCheck ejects a server after failed requests: connection
// errors, timeouts and (unless connectionErrorsOnly) 5xx answers. An ejected
// server is out of rotation for failureWindow, then probed back in by real
// requests: one success restores it, a failure ejects it again for twice as
// long (at most 16 times failureWindow).
type PassiveHealthCheck struct {
	// MaxFailedAttempts is the number of failures within FailureWindow that ejects the server (default 1).
	MaxFailedAttempts int `json:"maxFailedAttempts,omitempty"`
	// FailureWindow is the window failures are counted in, and the first ejection's length (default 10s).
	FailureWindow Duration `json:"failureWindow,omitempty"`
	// ConnectionErrorsOnly counts only connection errors and timeouts, not 5xx answers.
	ConnectionErrorsOnly bool `json:"connectionErrorsOnly,omitempty"`
}

// Sticky pins a client to the server (or service) that answered it first.
type Sticky struct {
	// Cookie carries the pin; its value is a keyed hash, not the server's address.
	Cookie *Cookie `json:"cookie,omitempty"`
}

// Cookie is the sticky session cookie.
type Cookie struct {
	// Name is the cookie's name (default: derived from the service name).
	Name string `json:"name,omitempty"`
	// Secure sends the cookie over HTTPS only.
	Secure bool `json:"secure,omitempty"`
	// HTTPOnly hides the cookie from scripts.
	HTTPOnly bool `json:"httpOnly,omitempty"`
	// SameSite is none, lax or strict (default: not set).
	SameSite string `json:"sameSite,omitempty"`
	// MaxAge is the cookie's lifetime in seconds; 0 makes it a session cookie.
	MaxAge int `json:"maxAge,omitempty"`
	// Path is the cookie's path (default /).
	Path string `json:"path,omitempty"`
	// Domain is the cookie's domain attribute (default: none, the request's host only).
	Domain string `json:"domain,omitempty"`
}

// Weighted spreads requests across services by weight (smooth weighted
// round robin), skipping services with no healthy server.
type Weighted struct {
	// Services are the services to spread over.
	Services []WeightedService `json:"services,omitempty"`
	// Sticky pins each client to one of the services with a cookie.
	Sticky *Sticky `json:"sticky,omitempty"`
}

// WeightedService is one service of a weighted service.
type WeightedService struct {
	// Name is the service's name.
	Name string `json:"name,omitempty"`
	// Weight is the service's share (default 1; 0 takes it out of rotation).
	Weight *int `json:"weight,omitempty"`
}

// Mirroring sends every request to a main service and copies a share of
// them to mirrors. Mirror answers are discarded; they never delay or change
// the main answer, and copies are dropped when too many are in flight.
type Mirroring struct {
	// Service is the main service, whose answer the client gets.
	Service string `json:"service,omitempty"`
	// Mirrors receive copies of requests.
	Mirrors []Mirror `json:"mirrors,omitempty"`
	// MirrorBody copies request bodies to mirrors (default true).
	MirrorBody *bool `json:"mirrorBody,omitempty"`
	// MaxBodySize is the largest body, in bytes, that is copied (default 1 MiB; -1: no limit).
	// A request with a larger body is not mirrored.
	MaxBodySize *int64 `json:"maxBodySize,omitempty"`
}

// Mirror is one mirror of a mirroring service.
type Mirror struct {
	// Name is the mirror service's name.
	Name string `json:"name,omitempty"`
	// Percent is the share of requests copied to this mirror, 0 to 100.
	Percent int `json:"percent,omitempty"`
}

// Failover sends requests to Service while it has a healthy server, and to
// Fallback otherwise.
type Failover struct {
	// Service is the main service.
	Service string `json:"service,omitempty"`
	// Fallback takes the requests while the main service has no healthy server.
	Fallback string `json:"fallback,omitempty"`
}

// StatusRange is an HTTP status code ("200") or an inclusive range ("200-299").
type StatusRange string

// Bounds returns the range's first and last codes; an empty range is 200-399.
func (s StatusRange) Bounds() (lo, hi int, err error) {
	text := strings.TrimSpace(string(s))
	if text == "" {
		return 200, 399, nil
	}
	a, b, isRange := strings.Cut(text, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf("invalid status %q (want a code like 200 or a range like 200-299)", text)
	}
	return lo, hi, nil
}

// CookieName returns the sticky cookie's name for service name: the
// configured one, else a name derived from the service's.
func (c *Cookie) CookieName(service string) string {
	if c != nil && c.Name != "" {
		return c.Name
	}
	var b strings.Builder
	b.WriteString("_ferry_")
	for _, r := range service {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// kinds counts the kinds set on s.
func (s *Service) kinds() int {
	n := 0
	for _, set := range []bool{s.LoadBalancer != nil, s.Weighted != nil, s.Mirroring != nil, s.Failover != nil} {
		if set {
			n++
		}
	}
	return n
}

// References returns the services s refers to, with the field naming each.
func (s *Service) References() (names, fields []string) {
	if w := s.Weighted; w != nil {
		for i, ws := range w.Services {
			names = append(names, ws.Name)
			fields = append(fields, fmt.Sprintf("weighted.services[%d].name", i))
		}
	}
	if m := s.Mirroring; m != nil {
		names = append(names, m.Service)
		fields = append(fields, "mirroring.service")
		for i, mm := range m.Mirrors {
			names = append(names, mm.Name)
			fields = append(fields, fmt.Sprintf("mirroring.mirrors[%d].name", i))
		}
	}
	if f := s.Failover; f != nil {
		names = append(names, f.Service, f.Fallback)
		fields = append(fields, "failover.service", "failover.fallback")
	}
	return names, fields
}

// qualified returns s with its service references qualified by q; s is
// returned as is when it refers to no service.
func (s *Service) qualified(q func(string) string) *Service {
	if s.Weighted == nil && s.Mirroring == nil && s.Failover == nil {
		return s
	}
	cp := *s
	if s.Weighted != nil {
		w := *s.Weighted
		w.Services = make([]WeightedService, len(s.Weighted.Services))
		for i, ws := range s.Weighted.Services {
			ws.Name = q(ws.Name)
			w.Services[i] = ws
		}
		cp.Weighted = &w
	}
	if s.Mirroring != nil {
		m := *s.Mirroring
		m.Service = q(m.Service)
		m.Mirrors = make([]Mirror, len(s.Mirroring.Mirrors))
		for i, mm := range s.Mirroring.Mirrors {
			mm.Name = q(mm.Name)
			m.Mirrors[i] = mm
		}
		cp.Mirroring = &m
	}
	if s.Failover != nil {
		f := *s.Failover
		f.Service, f.Fallback = q(f.Service), q(f.Fallback)
		cp.Failover = &f
	}
	return &cp
}

// validateKinds checks the parts of a service other than its servers.
func validateKinds(name string, s *Service, add func(Kind, string, string, string, ...any)) {
	if lb := s.LoadBalancer; lb != nil {
		switch lb.Strategy {
		case "", StrategyWRR, StrategyP2C, StrategyLeastConn:
		default:
			add(KindService, name, "loadBalancer.strategy", "unknown strategy %q (want wrr, p2c or leastconn)", lb.Strategy)
		}
		validateHealthCheck(name, lb.HealthCheck, add)
		if p := lb.PassiveHealthCheck; p != nil {
			if p.MaxFailedAttempts < 0 {
				add(KindService, name, "loadBalancer.passiveHealthCheck.maxFailedAttempts", "negative value %d", p.MaxFailedAttempts)
			}
			if p.FailureWindow < 0 {
				add(KindService, name, "loadBalancer.passiveHealthCheck.failureWindow", "negative duration %s", p.FailureWindow)
			}
		}
		validateSticky(name, "loadBalancer.sticky", lb.Sticky, add)
	}
	if w := s.Weighted; w != nil {
		for i, ws := range w.Services {
			if ws.Weight != nil && *ws.Weight < 0 {
				add(KindService, name, fmt.Sprintf("weighted.services[%d].weight", i), "negative weight %d", *ws.Weight)
			}
		}
		validateSticky(name, "weighted.sticky", w.Sticky, add)
	}
	if m := s.Mirroring; m != nil {
		for i, mm := range m.Mirrors {
			if mm.Percent < 0 || mm.Percent > 100 {
				add(KindService, name, fmt.Sprintf("mirroring.mirrors[%d].percent", i), "percent %d out of 0-100", mm.Percent)
			}
		}
		if m.MaxBodySize != nil && *m.MaxBodySize < -1 {
			add(KindService, name, "mirroring.maxBodySize", "invalid size %d (want -1 or more)", *m.MaxBodySize)
		}
	}
	names, fields := s.References()
	for i, ref := range names {
		if ref == "" {
			add(KindService, name, fields[i], "missing")
		}
	}
}

// validateServiceRefs checks that the services a service refers to exist in c.
func validateServiceRefs(c *Config, name string, s *Service, add func(Kind, string, string, string, ...any)) {
	names, fields := s.References()
	for i, ref := range names {
		if ref != "" && c.HTTP.Services[ref] == nil {
			add(KindService, name, fields[i], "service %q does not exist", ref)
		}
	}
}

func validateHealthCheck(name string, hc *HealthCheck, add func(Kind, string, string, string, ...any)) {
	if hc == nil {
		return
	}
	const f = "loadBalancer.healthCheck."
	if hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
		add(KindService, name, f+"path", "path %q must start with /", hc.Path)
	}
	if hc.Port < 0 || hc.Port > 65535 {
		add(KindService, name, f+"port", "port %d out of 1-65535", hc.Port)
	}
	switch hc.Scheme {
	case "", "http", "https", "h2c":
	default:
		add(KindService, name, f+"scheme", "unknown scheme %q (want http, https or h2c)", hc.Scheme)
	}
	if hc.Method != "" && strings.ContainsAny(hc.Method, " \t/()<>@,;:\\\"[]?={}") {
		add(KindService, name, f+"method", "invalid method %q", hc.Method)
	}
	for k := range hc.Headers {
		if k == "" || strings.ContainsAny(k, " \t:") {
			add(KindService, name, f+"headers", "invalid header name %q", k)
		}
	}
	for field, d := range map[string]Duration{"interval": hc.Interval, "unhealthyInterval": hc.UnhealthyInterval, "timeout": hc.Timeout} {
		if d < 0 {
			add(KindService, name, f+field, "negative duration %s", d)
		}
	}
	if _, _, err := hc.Status.Bounds(); err != nil {
		add(KindService, name, f+"status", "%v", err)
	}
}

func validateSticky(name, field string, s *Sticky, add func(Kind, string, string, string, ...any)) {
	if s == nil || s.Cookie == nil {
		return
	}
	c := s.Cookie
	switch strings.ToLower(c.SameSite) {
	case "", "none", "lax", "strict":
	default:
		add(KindService, name, field+".cookie.sameSite", "unknown value %q (want none, lax or strict)", c.SameSite)
	}
	if c.Name != "" && !validCookieName(c.Name) {
		add(KindService, name, field+".cookie.name", "invalid cookie name %q", c.Name)
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		add(KindService, name, field+".cookie.path", "path %q must start with /", c.Path)
	}
}

func validCookieName(n string) bool {
	c := http.Cookie{Name: n, Value: "x"}
	return c.Valid() == nil
}
