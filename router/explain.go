package router

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

// ExplainRequest is a request that Explain answers for.
type ExplainRequest struct {
	// Method is the request's method; GET when empty.
	Method string
	// URL is the request's absolute URL. Its scheme tells a TLS request
	// (https) from a plain one (http).
	URL string
	// Header holds the request's headers.
	Header http.Header
	// ClientIP is the client's address, for ClientIP matchers; empty
	// when unknown (ClientIP matchers then fail).
	ClientIP string
	// EntryPoints restricts the answer to these entry points; empty
	// means every HTTP entry point.
	EntryPoints []string
}

// Explanation tells which router serves a request on each entry point,
// what the request goes through there, and why every other router that
// could serve its host does not.
type Explanation struct {
	Method   string `json:"method"`
	URL      string `json:"url"`
	Host     string `json:"host"`
	TLS      bool   `json:"tls"`
	ClientIP string `json:"clientIP,omitempty"`
	// EntryPoints hold the verdict of each entry point, in the static
	// configuration's order.
	EntryPoints []EntryPointVerdict `json:"entryPoints"`
	// Disabled are the disabled routers that could serve the host (their
	// rule names it or any host), with their errors.
	Disabled []RouterVerdict `json:"disabled,omitempty"`
}

// EntryPointVerdict is what happens to the request on one entry point.
type EntryPointVerdict struct {
	EntryPoint string `json:"entryPoint"`
	// TLSEntryPoint is set when the entry point has http.tls, which makes
	// every router on it a TLS router.
	TLSEntryPoint bool `json:"tlsEntryPoint,omitempty"`
	// Winner is the router that serves the request; nil: none does (404).
	Winner *Chain `json:"winner,omitempty"`
	// Summary says the verdict in one line.
	Summary string `json:"summary"`
	// Others are the other routers whose host could match, with why each
	// did not win, highest priority first.
	Others []RouterVerdict `json:"others"`
}

// Chain is the way of a request through a router: its middlewares, its
// service and what the service sends to.
type Chain struct {
	Router      string   `json:"router"`
	Rule        string   `json:"rule"`
	Priority    int      `json:"priority"`
	Middlewares []string `json:"middlewares,omitempty"`
	Service     string   `json:"service"`
	// Servers are the URLs of a loadBalancer service, redacted.
	Servers []string `json:"servers,omitempty"`
	// Services are the services a weighted, mirroring or failover service
	// sends to.
	Services []string `json:"services,omitempty"`
}

// Reasons a router did not serve a request (RouterVerdict.Reason).
const (
	// LostPriority: its rule matched, and a router of higher priority won.
	LostPriority = "priority"
	// LostRule: its rule did not match the request.
	LostRule = "rule"
	// LostEntryPoint: it is not bound to this entry point.
	LostEntryPoint = "entryPoint"
	// LostTLSOnly: it serves TLS connections only; the request is plain.
	LostTLSOnly = "tlsOnly"
	// LostPlainOnly: it serves plain connections only; the request is TLS.
	LostPlainOnly = "plainOnly"
	// LostDisabled: it has errors and serves nothing.
	LostDisabled = "disabled"
)

// RouterVerdict says why a router did not serve the request.
type RouterVerdict struct {
	Router   string `json:"router"`
	Rule     string `json:"rule,omitempty"`
	Priority int    `json:"priority,omitempty"`
	// Reason is one of the Lost* values.
	Reason string `json:"reason"`
	// Detail says the reason in words, e.g. "its rule matches too, but its
	// priority 12 is lower than api@file's 25" or "PathPrefix(`/admin`) did
	// not match path /api/x".
	Detail string `json:"detail"`
	// Trace is the evaluation of the rule, when the rule was evaluated.
	Trace *rule.Trace `json:"trace,omitempty"`
	// EntryPoints are the router's entry points, for LostEntryPoint.
	EntryPoints []string `json:"entryPoints,omitempty"`
	// Errors are a disabled router's problems, with where it was defined.
	Errors []string `json:"errors,omitempty"`
}

// placed is a route with where the table holds it.
type placed struct {
	r      *route
	ep     int
	secure bool
}

// Explain answers which router serves req on each of eps (the entry points
// the table was built with) and why the others do not. The answer follows
// the same lookup as live requests.
func (t *Table) Explain(eps []EntryPoint, req ExplainRequest) (*Explanation, error) {
	hreq, err := explainHTTPRequest(req)
	if err != nil {
		return nil, err
	}
	secure := hreq.URL.Scheme == "https"
	host := rule.NormalizeHost(hreq.Host)
	match := &rule.Request{HTTP: hreq, Host: host}
	ex := &Explanation{Method: hreq.Method, URL: hreq.URL.String(), Host: host, TLS: secure, ClientIP: req.ClientIP}
	for _, name := range req.EntryPoints {
		if !slices.ContainsFunc(eps, func(e EntryPoint) bool { return e.Name == name }) {
			return nil, fmt.Errorf("explain: entry point %q does not exist", name)
		}
	}

	// Every enabled route that could serve the host, with where it is.
	byName := map[string][]placed{}
	for i := range t.entries {
		for _, s := range []struct {
			set    *routeSet
			secure bool
		}{{&t.entries[i].plain, false}, {&t.entries[i].secure, true}} {
			for _, r := range s.set.candidates(host) {
				byName[r.name] = append(byName[r.name], placed{r, i, s.secure})
			}
		}
	}
	for i, ep := range eps {
		if i >= len(t.entries) || len(req.EntryPoints) > 0 && !slices.Contains(req.EntryPoints, ep.Name) {
			continue
		}
		ex.EntryPoints = append(ex.EntryPoints, t.explainEntryPoint(eps, i, secure, match, byName))
	}
	ex.Disabled = t.explainDisabled(match)
	return ex, nil
}

// explainHTTPRequest turns an ExplainRequest into the request that rules see.
func explainHTTPRequest(req ExplainRequest) (*http.Request, error) {
	raw := strings.TrimSpace(req.URL)
	if raw == "" {
		return nil, errors.New("explain: url: missing")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("explain: url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("explain: url: scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("explain: url %q: no host", req.URL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	method := strings.ToUpper(strings.TrimSpace(req.Method))
	if method == "" {
		method = http.MethodGet
	}
	h := http.Header{}
	for k, vs := range req.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	host := u.Host
	if hh := h.Get("Host"); hh != "" { // Go keeps it in Request.Host
		host = hh
		h.Del("Host")
	}
	r := &http.Request{Method: method, URL: u, Host: host, Header: h, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if ip := strings.TrimSpace(req.ClientIP); ip != "" {
		if net.ParseIP(strings.Trim(ip, "[]")) == nil {
			return nil, fmt.Errorf("explain: clientIP %q: not an IP address", req.ClientIP)
		}
		r.RemoteAddr = net.JoinHostPort(strings.Trim(ip, "[]"), "0")
	}
	return r, nil
}

// explainEntryPoint walks entry point ep's routes for the request's kind of
// connection in the order of routeSet.match, and says why every other
// route for the host lost.
func (t *Table) explainEntryPoint(eps []EntryPoint, ep int, secure bool, match *rule.Request,
	byName map[string][]placed) EntryPointVerdict {
	v := EntryPointVerdict{EntryPoint: eps[ep].Name, TLSEntryPoint: eps[ep].TLS, Others: []RouterVerdict{}}
	set := &t.entries[ep].plain
	if secure {
		set = &t.entries[ep].secure
	}
	var winner *route
	seen := map[string]bool{}
	for _, r := range set.candidates(match.Host) {
		seen[r.name] = true
		if winner != nil {
			v.Others = append(v.Others, lostTo(r, winner, match))
			continue
		}
		if tr := r.rule.Explain(match); tr.Matched {
			winner, v.Winner = r, t.chain(r)
		} else {
			v.Others = append(v.Others, RouterVerdict{Router: r.name, Rule: r.rule.String(), Priority: r.priority,
				Reason: LostRule, Detail: tr.Why(), Trace: &tr})
		}
	}
	kind := "plain HTTP"
	if secure {
		kind = "TLS"
	}
	switch {
	case winner != nil:
		v.Summary = fmt.Sprintf("%s (priority %d) serves it over %s", winner.name, winner.priority, kind)
	case eps[ep].TLS && !secure:
		v.Summary = fmt.Sprintf("no router: every router of %s is a TLS router (http.tls), the request is plain HTTP: 404", eps[ep].Name)
	default:
		v.Summary = fmt.Sprintf("no router matches on %s over %s: 404", eps[ep].Name, kind)
	}
	// Routes for the host that this entry point and kind do not hold.
	names := make([]string, 0, len(byName))
	for name := range byName {
		if !seen[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		v.Others = append(v.Others, elsewhere(eps, ep, secure, byName[name], t.routers[name]))
	}
	return v
}

// lostTo says why route r, tried after winner, lost.
func lostTo(r, winner *route, match *rule.Request) RouterVerdict {
	v := RouterVerdict{Router: r.name, Rule: r.rule.String(), Priority: r.priority}
	tr := r.rule.Explain(match)
	switch {
	case !tr.Matched:
		v.Reason, v.Detail, v.Trace = LostRule, tr.Why(), &tr
	case r.priority < winner.priority:
		v.Reason = LostPriority
		v.Detail = fmt.Sprintf("its rule matches too, but its priority %d is lower than %s's %d", r.priority, winner.name, winner.priority)
	default:
		v.Reason = LostPriority
		v.Detail = fmt.Sprintf("its rule matches too, with the same priority %d as %s, which sorts first by name", r.priority, winner.name)
	}
	return v
}

// elsewhere says why a route held only on other entry points or for the
// other kind of connection did not serve the request on entry point ep.
func elsewhere(eps []EntryPoint, ep int, secure bool, places []placed, info *RouterInfo) RouterVerdict {
	r := places[0].r
	v := RouterVerdict{Router: r.name, Rule: r.rule.String(), Priority: r.priority}
	for _, p := range places {
		if p.ep == ep { // here, for the other kind of connection
			if secure {
				v.Reason = LostPlainOnly
				v.Detail = "it serves plain HTTP only (no tls section), the request is TLS"
			} else {
				v.Reason = LostTLSOnly
				v.Detail = "it serves TLS only, the request is plain HTTP"
				if eps[ep].TLS {
					v.Detail = "it serves TLS only (entry point " + eps[ep].Name + " has http.tls), the request is plain HTTP"
				}
			}
			return v
		}
	}
	v.Reason = LostEntryPoint
	if info != nil {
		v.EntryPoints = info.Using
	}
	v.Detail = fmt.Sprintf("it is bound to entry point(s) %s, not %s", strings.Join(v.EntryPoints, ", "), eps[ep].Name)
	return v
}

// chain describes what a request served by r goes through.
func (t *Table) chain(r *route) *Chain {
	c := &Chain{Router: r.name, Rule: r.rule.String(), Priority: r.priority, Service: r.service}
	if info := t.routers[r.name]; info != nil && info.Router != nil {
		c.Middlewares = info.Router.Middlewares
	}
	if def := t.config.HTTP.Services[r.service]; def != nil {
		if def.LoadBalancer != nil {
			for _, s := range def.LoadBalancer.Servers {
				c.Servers = append(c.Servers, config.RedactURL(s.URL))
			}
		} else {
			c.Services, _ = def.References()
		}
	}
	return c
}

// explainDisabled lists the disabled routers that could serve the host.
func (t *Table) explainDisabled(match *rule.Request) []RouterVerdict {
	var out []RouterVerdict
	for _, name := range sortedKeys(t.routers) {
		info := t.routers[name]
		if info.Status != StatusDisabled || info.Router == nil {
			continue
		}
		v := RouterVerdict{Router: name, Rule: info.Router.Rule, Priority: info.Router.Priority, Reason: LostDisabled,
			Errors: info.Error}
		compiled, err := t.compileRouterRule(info.Router) // in its rule syntax (rules.go)
		switch {
		case err != nil:
			if !strings.Contains(strings.ToLower(info.Router.Rule), match.Host) {
				continue // no telling which hosts it is for, and it does not name this one
			}
		case !hostCouldMatch(compiled, match.Host):
			continue
		default:
			if v.Priority == 0 {
				v.Priority = len(info.Router.Rule)
			}
			tr := compiled.Explain(match)
			v.Trace = &tr
		}
		v.Detail = strings.Join(info.Error, "; ")
		if v.Trace != nil {
			if v.Trace.Matched {
				v.Detail += " (its rule would match)"
			} else {
				v.Detail += " (its rule would not match either: " + v.Trace.Why() + ")"
			}
		}
		out = append(out, v)
	}
	return out
}

// hostCouldMatch reports whether a rule may match requests for host.
func hostCouldMatch(r *rule.Rule, host string) bool {
	hosts := r.Hosts()
	return hosts == nil || slices.ContainsFunc(hosts, func(pattern string) bool { return rule.MatchHost(pattern, host) })
}

// candidates returns the routes that match tries for host, in its order.
func (s *routeSet) candidates(host string) []*route {
	wild := s.byParent[rule.ParentDomain(host)]
	out := make([]*route, 0, len(s.byHost[host])+len(wild)+len(s.any))
	out = append(out, s.byHost[host]...)
	out = append(out, wild...)
	out = append(out, s.any...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].before(out[j]) })
	return out
}
