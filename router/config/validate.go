package config

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Kind names the sort of object a Problem is about.
type Kind string

// Object kinds.
const (
	KindRouter      Kind = "router"
	KindService     Kind = "service"
	KindMiddleware  Kind = "middleware"
	KindCertificate Kind = "certificate"
	// KindSource is a problem with a whole source (a file, a container) rather than one object.
	KindSource Kind = "source"
)

// Problem is one thing wrong with a configuration object. The object it
// names is disabled; everything else keeps serving.
type Problem struct {
	// Kind is the sort of object.
	Kind Kind `json:"kind"`
	// Name is the object's (qualified) name; for KindSource, the source (file path, container).
	Name string `json:"name"`
	// Field is the key path inside the object, e.g. loadBalancer.servers[0].url; may be empty.
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Origin is where the object was defined (file:line, container name), when known.
	Origin string `json:"origin,omitempty"`
}

// ObjectID identifies one configuration object.
type ObjectID struct {
	Kind Kind
	Name string
}

// ID returns the identity of the object the problem is about.
func (p Problem) ID() ObjectID { return ObjectID{Kind: p.Kind, Name: p.Name} }

// Error formats the problem as "router web@file: rule: empty rule".
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(string(p.Kind))
	b.WriteByte(' ')
	b.WriteString(p.Name)
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Origin != "" {
		b.WriteString(" (")
		b.WriteString(p.Origin)
		b.WriteByte(')')
	}
	return b.String()
}

// Validate checks every router, service, middleware and certificate of c on
// its own and returns one Problem per defect, sorted. Rules are parsed by the
// router, not here. References are checked against c, so Validate is meant
// for the merged configuration.
func Validate(c *Config) []Problem {
	return ValidateNext(c, nil).Problems
}

// Validation is what Validate found in one configuration, kept so that the
// configuration that replaces it is checked in proportion to what changed.
type Validation struct {
	// Problems are every problem found, sorted (Validate's result).
	Problems []Problem

	cfg *Config
	// own holds the problems of the HTTP routers, services and middlewares
	// that depend on the object alone (not on what it refers to), by the
	// object's identity; objects without any are absent.
	own map[ObjectID][]Problem
}

// ValidateNext is Validate(c) for a configuration that replaces the one
// prev was made from (nil: none). An HTTP router, service or middleware
// whose definition is the very pointer prev's configuration holds under
// the same name is not checked again on its own; its references to other
// objects are, like everything else.
func ValidateNext(c *Config, prev *Validation) *Validation {
	v := &Validation{cfg: c}
	var ps []Problem
	add := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	// own checks one object on its own, or takes what prev found for it.
	own := func(id ObjectID, reuse bool, check func()) {
		if reuse {
			if found := prev.own[id]; len(found) > 0 {
				ps = append(ps, found...)
				v.keep(id, found)
			}
			return
		}
		n := len(ps)
		check()
		if len(ps) > n {
			v.keep(id, slices.Clone(ps[n:])) // ps is sorted in place below
		}
	}
	var before HTTP
	if prev != nil && prev.cfg != nil {
		before = prev.cfg.HTTP
	}
	for name, r := range c.HTTP.Routers {
		own(ObjectID{KindRouter, name}, r != nil && before.Routers[name] == r, func() { validateRouter(name, r, add) })
		validateRouterRefs(c, name, r, add)
	}
	for name, s := range c.HTTP.Services {
		own(ObjectID{KindService, name}, s != nil && before.Services[name] == s, func() {
			validateService(name, s, add)
			validateKinds(name, s, add)
			validateMoreService(name, s, add) // validate_more.go
		})
		validateServiceRefs(c, name, s, add) // service.go
	}
	for name, m := range c.HTTP.Middlewares {
		own(ObjectID{KindMiddleware, name}, m != nil && before.Middlewares[name] == m, func() {
			if n := m.typeCount(); n != 1 {
				add(KindMiddleware, name, "", "want exactly one middleware type, found %d", n)
			}
			validateTransformMiddleware(name, m, add)
			validateTraffic(name, m, add)
			validateMoreMiddleware(name, m, add) // validate_more.go
		})
		validateMiddlewareRefs(c, name, m, add) // validate_middleware.go
	}
	for i, cert := range c.TLS.Certificates {
		if cert.CertFile == "" {
			add(KindCertificate, fmt.Sprintf("tls.certificates[%d]", i), "certFile", "missing")
		}
		if cert.KeyFile == "" {
			add(KindCertificate, fmt.Sprintf("tls.certificates[%d]", i), "keyFile", "missing")
		}
	}
	ps = append(ps, validateTCP(c)...)
	ps = append(ps, validateTCPMiddlewares(c)...) // tcp_middleware.go
	ps = append(ps, validateUDP(c)...)
	ps = append(ps, validateTransports(c)...) // validate_transport.go
	ps = append(ps, validateTLS(c)...)        // validate_tlsoptions.go
	SortProblems(ps)
	v.Problems = ps
	return v
}

// keep records the problems object id has on its own.
func (v *Validation) keep(id ObjectID, ps []Problem) {
	if v.own == nil {
		v.own = make(map[ObjectID][]Problem)
	}
	v.own[id] = ps
}

// validateRouter checks what a router gets wrong on its own.
func validateRouter(name string, r *Router, add func(Kind, string, string, string, ...any)) {
	if strings.TrimSpace(r.Rule) == "" {
		add(KindRouter, name, "rule", "no rule")
	}
	if r.Service == "" {
		add(KindRouter, name, "service", "no service")
	}
	if r.Priority < 0 {
		add(KindRouter, name, "priority", "negative priority %d", r.Priority)
	}
}

// validateRouterRefs checks that the service and middlewares a router
// names exist in c.
func validateRouterRefs(c *Config, name string, r *Router, add func(Kind, string, string, string, ...any)) {
	if r.Service != "" {
		if _, ok := c.HTTP.Services[r.Service]; !ok && !IsInternal(r.Service) {
			add(KindRouter, name, "service", "service %q does not exist", r.Service)
		}
	}
	for i, m := range r.Middlewares {
		if _, ok := c.HTTP.Middlewares[m]; !ok {
			add(KindRouter, name, fmt.Sprintf("middlewares[%d]", i), "middleware %q does not exist", m)
		}
	}
}

func validateService(name string, s *Service, add func(Kind, string, string, string, ...any)) {
	if n := s.kinds(); n != 1 {
		add(KindService, name, "", "want exactly one of loadBalancer, weighted, mirroring or failover, found %d", n)
	}
	lb := s.LoadBalancer
	if lb == nil {
		return
	}
	for i, srv := range lb.Servers {
		field := fmt.Sprintf("loadBalancer.servers[%d]", i)
		if err := checkServerURL(srv.URL); err != nil {
			add(KindService, name, field+".url", "%v", err)
		}
		if srv.Weight != nil && *srv.Weight < 0 {
			add(KindService, name, field+".weight", "negative weight %d", *srv.Weight)
		}
	}
}

func checkServerURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q", raw)
	}
	switch u.Scheme {
	case "http", "https", "h2c":
	default:
		return fmt.Errorf("invalid URL %q: scheme must be http, https or h2c", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	return nil
}

// SortProblems orders problems by kind, name, field and message.
func SortProblems(ps []Problem) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

// typeCount counts the middleware types set on m.
func (m *Middleware) typeCount() int {
	n := 0
	for _, set := range []bool{
		m.AddPrefix != nil, m.StripPrefix != nil, m.StripPrefixRegex != nil, m.ReplacePath != nil,
		m.ReplacePathRegex != nil, m.RedirectScheme != nil, m.RedirectRegex != nil, m.Headers != nil,
		m.BasicAuth != nil, m.ForwardAuth != nil, m.RateLimit != nil, m.InFlightReq != nil,
		m.IPAllowList != nil, m.Buffering != nil, m.Retry != nil, m.CircuitBreaker != nil,
		m.Compress != nil, m.Chain != nil, m.Errors != nil, m.PassTLSClientCert != nil,
		m.DigestAuth != nil,
	} {
		if set {
			n++
		}
	}
	return n
}
