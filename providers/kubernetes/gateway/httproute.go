package gateway

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// httpMatch is one match of a rule as a rule expression without hosts.
type httpMatch struct {
	expr string
	prec precedence // path, method, headers and query filled in
	// prefix is the PathPrefix value without its trailing slash ("" for
	// "/"), valid when isPrefix; ReplacePrefixMatch rewrites it.
	prefix   string
	isPrefix bool
}

// httpRule is an HTTPRoute or GRPCRoute rule once checked.
type httpRule struct {
	idx     int
	matches []httpMatch
	filters []gwv1.HTTPRouteFilter
	refs    []gwv1.BackendRef
	// invalid is set when the rule cannot be served: its routers are
	// disabled with the reason (Accepted reason UnsupportedValue or
	// IncompatibleFilters, or ResolvedRefs reason InvalidKind).
	invalid check
	// invalidRefs is set when invalid is about a reference (ResolvedRefs).
	invalidRefs bool
}

// anchored makes a Gateway API regular expression match whole values.
func anchored(re string) string { return "^(?:" + re + ")$" }

// checkRegexp reports an invalid regular expression on rule.
func checkRegexp(rule *httpRule, field, re string) {
	if _, err := regexp.Compile(re); err != nil {
		rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s: invalid regular expression: %v", field, err))
	}
}

// checkHTTPMatch turns one HTTPRouteMatch into an expression.
func checkHTTPMatch(rule *httpRule, field string, m *gwv1.HTTPRouteMatch) httpMatch {
	var out httpMatch
	var parts []string
	typ, value := gwv1.PathMatchPathPrefix, "/"
	if m.Path != nil {
		if m.Path.Type != nil {
			typ = *m.Path.Type
		}
		if m.Path.Value != nil {
			value = *m.Path.Value
		}
	}
	switch typ {
	case gwv1.PathMatchExact:
		parts = append(parts, "Path("+lit(value)+")")
		out.prec.pathClass = pathExact
	case gwv1.PathMatchPathPrefix:
		p := strings.TrimRight(value, "/")
		if p == "" {
			parts = append(parts, "PathPrefix(`/`)")
		} else {
			parts = append(parts, "(Path("+lit(p)+") || PathPrefix("+lit(p+"/")+"))")
		}
		out.prefix, out.isPrefix = p, true
		out.prec.pathClass = pathPrefix
	case gwv1.PathMatchRegularExpression:
		checkRegexp(rule, field+".path.value", value)
		parts = append(parts, "PathRegexp("+lit(anchored(value))+")")
		out.prec.pathClass = pathRegexp
	default:
		rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s.path.type: %q is not supported", field, typ))
	}
	out.prec.pathLen = len(value)
	if !strings.HasPrefix(value, "/") && typ != gwv1.PathMatchRegularExpression {
		rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s.path.value: %q does not start with /", field, value))
	}
	if m.Method != nil {
		parts = append(parts, "Method("+lit(string(*m.Method))+")")
		out.prec.method = true
	}
	seen := map[string]bool{}
	for i, h := range m.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		if seen[name] {
			continue // the first match of a header name counts
		}
		seen[name] = true
		if h.Type != nil && *h.Type == gwv1.HeaderMatchRegularExpression {
			checkRegexp(rule, fmt.Sprintf("%s.headers[%d].value", field, i), h.Value)
			parts = append(parts, "HeaderRegexp("+lit(name)+", "+lit(anchored(h.Value))+")")
		} else {
			parts = append(parts, "Header("+lit(name)+", "+lit(h.Value)+")")
		}
		out.prec.headers++
	}
	seenQ := map[string]bool{}
	for i, q := range m.QueryParams {
		name := string(q.Name)
		if seenQ[name] {
			continue
		}
		seenQ[name] = true
		if q.Type != nil && *q.Type == gwv1.QueryParamMatchRegularExpression {
			checkRegexp(rule, fmt.Sprintf("%s.queryParams[%d].value", field, i), q.Value)
			parts = append(parts, "QueryRegexp("+lit(name)+", "+lit(anchored(q.Value))+")")
		} else {
			parts = append(parts, "Query("+lit(name)+", "+lit(q.Value)+")")
		}
		out.prec.query++
	}
	out.expr = strings.Join(parts, " && ")
	return out
}

// checkHTTPRule checks one HTTPRoute rule.
func checkHTTPRule(spec *gwv1.HTTPRouteRule, i int) *httpRule {
	rule := &httpRule{idx: i, filters: spec.Filters}
	field := fmt.Sprintf("rules[%d]", i)
	matches := spec.Matches
	if len(matches) == 0 {
		matches = []gwv1.HTTPRouteMatch{{}}
	}
	for j := range matches {
		rule.matches = append(rule.matches, checkHTTPMatch(rule, fmt.Sprintf("%s.matches[%d]", field, j), &matches[j]))
	}
	withFilters := 0
	for _, r := range spec.BackendRefs {
		rule.refs = append(rule.refs, r.BackendRef)
		if len(r.Filters) > 0 {
			withFilters++
		}
	}
	switch {
	case withFilters > 0 && len(spec.BackendRefs) == 1:
		// One backend: its filters apply to every request of the rule.
		rule.filters = append(append([]gwv1.HTTPRouteFilter{}, spec.Filters...), spec.BackendRefs[0].Filters...)
	case withFilters > 0:
		rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), field+": filters on one of several backendRefs are not supported")
	}
	checkFilters(rule, field)
	return rule
}

// httpRoute translates one HTTPRoute.
func (b *builder) httpRoute(r *gwv1.HTTPRoute, rank int) {
	rv := newRouteView(kindHTTPRoute, &r.ObjectMeta, &r.Spec.CommonRouteSpec, r.Spec.Hostnames, rank)
	rules := make([]*httpRule, len(r.Spec.Rules))
	for i := range r.Spec.Rules {
		rules[i] = checkHTTPRule(&r.Spec.Rules[i], i)
	}
	b.serveHTTPRules(rv, rules)
}

// serveHTTPRules attaches an HTTP or gRPC route, defines the routers of
// its rules and records its status.
func (b *builder) serveHTTPRules(rv *routeView, rules []*httpRule) {
	invalid := 0
	var accept, refs check // the first invalid rule's reason, for Accepted or ResolvedRefs
	var messages []string
	for _, rule := range rules {
		if rule.invalid.failed {
			invalid++
			messages = append(messages, rule.invalid.message)
			if rule.invalidRefs {
				refs.fail(rule.invalid.reason, rule.invalid.message)
			} else {
				accept.fail(rule.invalid.reason, rule.invalid.message)
			}
		}
	}
	allInvalid := len(rules) > 0 && invalid == len(rules)
	// A route whose every rule is invalid is not accepted, unless only
	// references failed (those are ResolvedRefs' business).
	rejected := allInvalid && accept.failed
	parents, atts := b.attach(rv, !rejected)
	if len(parents) == 0 {
		return
	}
	resolved := refs
	groups := groupByPort(atts)
	for _, rule := range rules {
		if rule.invalid.failed {
			b.invalidHTTPRule(rv, rule, groups)
			continue
		}
		svc := b.httpRuleServiceWithMirrors(rv, rule, groups, &resolved)
		b.httpRouters(rv, rule, groups, svc)
	}
	var extra []metav1.Condition
	switch {
	case rejected:
		for i := range parents {
			parents[i].accepted.fail(accept.reason, accept.message)
		}
	case invalid > 0:
		extra = append(extra, cond(gwv1.RouteConditionPartiallyInvalid, true, gwv1.RouteReasonUnsupportedValue,
			fmt.Sprintf("%d of %d rules are not served: %s", invalid, len(rules), strings.Join(messages, "; ")), rv.meta.Generation))
	}
	b.refProblem(rv, resolved)
	b.status.Routes[routeKey(rv.kind, rv.key)] = b.parentStatuses(rv, parents, resolved, extra...)
}

// refProblem reports a route's unresolved reference in the API's problems,
// where it disables nothing: the route serves, and its requests meant for
// the missing backend fail.
func (b *builder) refProblem(rv *routeView, resolved check) {
	if resolved.failed {
		b.problems = append(b.problems, config.Problem{Kind: config.KindSource, Name: rv.origin(),
			Message: fmt.Sprintf("%s (%s)", resolved.message, resolved.reason)})
	}
}

// httpRuleServiceWithMirrors returns the service of a rule, wrapped in a
// mirroring service when the rule has RequestMirror filters. Nothing is
// defined (but references are checked) when the route is not served.
func (b *builder) httpRuleServiceWithMirrors(rv *routeView, rule *httpRule, groups []*portGroup, resolved *check) string {
	field := fmt.Sprintf("rules[%d].", rule.idx)
	if len(groups) == 0 {
		for i, r := range rule.refs {
			b.resolveBackend(rv, r.BackendObjectReference, fmt.Sprintf("%sbackendRefs[%d]", field, i), resolved)
		}
		for k, f := range rule.filters {
			if f.RequestMirror != nil {
				b.resolveBackend(rv, f.RequestMirror.BackendRef, fmt.Sprintf("%sfilters[%d].requestMirror.backendRef", field, k), resolved)
			}
		}
		return ""
	}
	name := fmt.Sprintf("%s-r%d", rv.base(), rule.idx)
	svc := b.httpRuleService(rv, name, rule.refs, field, resolved)
	var mirrors []config.Mirror
	for k, f := range rule.filters {
		if f.RequestMirror == nil {
			continue
		}
		be, ok := b.resolveBackend(rv, f.RequestMirror.BackendRef, fmt.Sprintf("%sfilters[%d].requestMirror.backendRef", field, k), resolved)
		if !ok {
			continue
		}
		mirrors = append(mirrors, config.Mirror{Name: b.httpBackend(be, rv.kind == kindGRPCRoute), Percent: mirrorPercent(f.RequestMirror)})
	}
	if len(mirrors) == 0 {
		return svc
	}
	mname := name + "-mirror"
	b.cfg.HTTP.Services[mname] = &config.Service{Mirroring: &config.Mirroring{Service: svc, Mirrors: mirrors}}
	b.origin(config.KindService, mname, rv.origin())
	return mname
}

// mirrorPercent is the share of requests a mirror filter copies, in
// whole percents (default all).
func mirrorPercent(m *gwv1.HTTPRequestMirrorFilter) int {
	switch {
	case m.Percent != nil:
		return int(*m.Percent)
	case m.Fraction != nil:
		den := int32(100)
		if m.Fraction.Denominator != nil && *m.Fraction.Denominator > 0 {
			den = *m.Fraction.Denominator
		}
		return int((int64(m.Fraction.Numerator)*100 + int64(den)/2) / int64(den))
	}
	return 100
}

// routerName names the router of one match of a rule on one port group
// and host group.
func routerName(rv *routeView, rule, match int, g *portGroup, hostSuffix string) string {
	return fmt.Sprintf("%s-r%d-m%d-%s%s", rv.base(), rule, match, g.eps[0], hostSuffix)
}

// httpRouters defines the routers of a valid rule: one per match, port
// group and host group.
func (b *builder) httpRouters(rv *routeView, rule *httpRule, groups []*portGroup, svc string) {
	for _, g := range groups {
		hgs := groupHosts(g.hosts)
		for j, m := range rule.matches {
			mws := b.httpMiddlewares(rv, rule, j, m, g)
			for hi, hg := range hgs {
				name := routerName(rv, rule.idx, j, g, hg.suffix(hi, hgs))
				prec := m.prec
				prec.host, prec.rank, prec.rule, prec.match = hg.class(), rv.rank, rule.idx, j
				r := &config.Router{
					Rule:        joinRule(hg.httpExpr(), m.expr),
					Service:     svc,
					EntryPoints: g.eps,
					Middlewares: mws,
					Priority:    prec.priority(),
				}
				if g.tls {
					r.TLS = &config.RouterTLS{}
				}
				b.cfg.HTTP.Routers[name] = r
				b.origin(config.KindRouter, name, fmt.Sprintf("%s rules[%d].matches[%d]", rv.origin(), rule.idx, j))
			}
		}
	}
}

// invalidHTTPRule defines the routers of a rule that cannot be served,
// disabled with the reason, so that the API shows them and why.
func (b *builder) invalidHTTPRule(rv *routeView, rule *httpRule, groups []*portGroup) {
	for _, g := range groups {
		hgs := groupHosts(g.hosts)
		for j, m := range rule.matches {
			for hi, hg := range hgs {
				name := routerName(rv, rule.idx, j, g, hg.suffix(hi, hgs))
				b.cfg.HTTP.Routers[name] = &config.Router{
					Rule: joinRule(hg.httpExpr(), m.expr), Service: b.invalidHTTPBackend(), EntryPoints: g.eps,
				}
				b.origin(config.KindRouter, name, fmt.Sprintf("%s rules[%d].matches[%d]", rv.origin(), rule.idx, j))
				b.problems = append(b.problems, config.Problem{Kind: config.KindRouter, Name: name,
					Message: fmt.Sprintf("%s %s: %s (%s)", rv.kind, rv.key, rule.invalid.message, rule.invalid.reason)})
			}
		}
	}
}

// joinRule joins rule expressions with &&, skipping empty ones.
func joinRule(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " && ")
}
