package gateway

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// grpcRoute translates one GRPCRoute. A gRPC call is an HTTP/2 POST to
// /<service>/<method>, so its matches become path rules and its rules
// share the HTTP route machinery; backends are reached over h2c unless
// their Service port's appProtocol says otherwise.
func (b *builder) grpcRoute(r *gwv1.GRPCRoute, rank int) {
	rv := newRouteView(kindGRPCRoute, &r.ObjectMeta, &r.Spec.CommonRouteSpec, r.Spec.Hostnames, rank)
	rules := make([]*httpRule, len(r.Spec.Rules))
	for i := range r.Spec.Rules {
		rules[i] = checkGRPCRule(&r.Spec.Rules[i], i)
	}
	b.serveHTTPRules(rv, rules)
}

// checkGRPCRule checks one GRPCRoute rule.
func checkGRPCRule(spec *gwv1.GRPCRouteRule, i int) *httpRule {
	rule := &httpRule{idx: i}
	field := fmt.Sprintf("rules[%d]", i)
	matches := spec.Matches
	if len(matches) == 0 {
		matches = []gwv1.GRPCRouteMatch{{}}
	}
	for j := range matches {
		rule.matches = append(rule.matches, checkGRPCMatch(rule, fmt.Sprintf("%s.matches[%d]", field, j), &matches[j]))
	}
	for _, f := range spec.Filters {
		rule.filters = append(rule.filters, httpFilter(f))
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
		for _, f := range spec.BackendRefs[0].Filters {
			rule.filters = append(rule.filters, httpFilter(f))
		}
	case withFilters > 0:
		rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), field+": filters on one of several backendRefs are not supported")
	}
	checkFilters(rule, field)
	return rule
}

// httpFilter is a gRPC filter as the HTTP filter it equals.
func httpFilter(f gwv1.GRPCRouteFilter) gwv1.HTTPRouteFilter {
	return gwv1.HTTPRouteFilter{
		Type:                   gwv1.HTTPRouteFilterType(f.Type),
		RequestHeaderModifier:  f.RequestHeaderModifier,
		ResponseHeaderModifier: f.ResponseHeaderModifier,
		RequestMirror:          f.RequestMirror,
		ExtensionRef:           f.ExtensionRef,
	}
}

// checkGRPCMatch turns one GRPCRouteMatch into a rule expression. An exact
// service and method is an exact path; a service alone is a path prefix;
// the rest are path regular expressions. Precedence follows the spec's
// order (service, then method characters) as far as path classes allow.
func checkGRPCMatch(rule *httpRule, field string, m *gwv1.GRPCRouteMatch) httpMatch {
	var out httpMatch
	var parts []string
	if mm := m.Method; mm != nil {
		svc, meth := deref(mm.Service), deref(mm.Method)
		if mm.Type != nil && *mm.Type == gwv1.GRPCMethodMatchRegularExpression {
			if svc != "" {
				checkRegexp(rule, field+".method.service", svc)
			}
			if meth != "" {
				checkRegexp(rule, field+".method.method", meth)
			}
			parts = append(parts, "PathRegexp("+lit("^/"+orAny(svc)+"/"+orAny(meth)+"$")+")")
			out.prec.pathClass = pathRegexp
		} else {
			switch {
			case svc != "" && meth != "":
				parts = append(parts, "Path("+lit("/"+svc+"/"+meth)+")")
				out.prec.pathClass = pathExact
			case svc != "":
				parts = append(parts, "PathPrefix("+lit("/"+svc+"/")+")")
				out.prec.pathClass = pathPrefix
			case meth != "":
				parts = append(parts, "PathRegexp("+lit("^/[^/]+/"+regexp.QuoteMeta(meth)+"$")+")")
				out.prec.pathClass = pathRegexp
			}
		}
		out.prec.pathLen = len(svc) + len(meth)
	}
	if len(parts) == 0 {
		parts = append(parts, "PathPrefix(`/`)")
		out.prec.pathClass, out.prec.pathLen = pathPrefix, 1
	}
	seen := map[string]bool{}
	for i, h := range m.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		if seen[name] {
			continue
		}
		seen[name] = true
		if h.Type != nil && *h.Type == gwv1.GRPCHeaderMatchRegularExpression {
			checkRegexp(rule, fmt.Sprintf("%s.headers[%d].value", field, i), h.Value)
			parts = append(parts, "HeaderRegexp("+lit(name)+", "+lit(anchored(h.Value))+")")
		} else {
			parts = append(parts, "Header("+lit(name)+", "+lit(h.Value)+")")
		}
		out.prec.headers++
	}
	out.expr = strings.Join(parts, " && ")
	return out
}

// orAny is a regexp part: re in a group, or any path segment when empty.
func orAny(re string) string {
	if re == "" {
		return "[^/]+"
	}
	return "(?:" + re + ")"
}
