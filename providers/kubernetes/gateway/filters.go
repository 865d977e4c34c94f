package gateway

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferryproxy/ferry/router/config"
)

// ExtensionRef filters name a Ferry middleware of any provider: group
// ferryproxy.io, kind Middleware, name e.g. auth@file.
const (
	extensionGroup = "ferryproxy.io"
	extensionKind  = "Middleware"
)

// checkFilters checks the filters of a rule.
func checkFilters(rule *httpRule, field string) {
	redirect, rewrite := false, false
	for k, f := range rule.filters {
		ff := fmt.Sprintf("%s.filters[%d]", field, k)
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier, gwv1.HTTPRouteFilterResponseHeaderModifier,
			gwv1.HTTPRouteFilterRequestMirror, gwv1.HTTPRouteFilterCORS:
		case gwv1.HTTPRouteFilterRequestRedirect:
			redirect = true
			if p := f.RequestRedirect; p != nil && p.Path != nil && p.Path.Type == gwv1.PrefixMatchHTTPPathModifier {
				needPrefixMatches(rule, ff)
			}
		case gwv1.HTTPRouteFilterURLRewrite:
			rewrite = true
			if p := f.URLRewrite; p != nil && p.Path != nil && p.Path.Type == gwv1.PrefixMatchHTTPPathModifier {
				needPrefixMatches(rule, ff)
			}
		case gwv1.HTTPRouteFilterExtensionRef:
			e := f.ExtensionRef
			switch {
			case e == nil:
				rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), ff+": no extensionRef")
			case string(e.Group) != extensionGroup || string(e.Kind) != extensionKind:
				rule.invalid.fail(string(gwv1.RouteReasonInvalidKind), fmt.Sprintf("%s.extensionRef: %s is not a Ferry middleware (want %s/%s)",
					ff, qualifiedKind(string(e.Group), string(e.Kind)), extensionGroup, extensionKind))
				rule.invalidRefs = true
			case !strings.Contains(string(e.Name), "@"):
				rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s.extensionRef.name: %q must name the middleware's provider, e.g. %s@file", ff, e.Name, e.Name))
			}
		default:
			rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s: filter type %q is not supported", ff, f.Type))
		}
		if filterBody(f) == nil && f.Type != gwv1.HTTPRouteFilterExtensionRef && !rule.invalid.failed {
			rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), fmt.Sprintf("%s: no %s settings", ff, f.Type))
		}
	}
	if redirect && rewrite {
		rule.invalid.fail(string(gwv1.RouteReasonIncompatibleFilters), field+": RequestRedirect and URLRewrite cannot be combined")
	}
	if redirect && len(rule.refs) > 0 {
		rule.refs = nil // a redirect answers by itself; its backends are never used
	}
}

// filterBody returns the settings of a filter's type, nil when missing.
func filterBody(f gwv1.HTTPRouteFilter) any {
	switch f.Type {
	case gwv1.HTTPRouteFilterRequestHeaderModifier:
		return ptrOrNil(f.RequestHeaderModifier)
	case gwv1.HTTPRouteFilterResponseHeaderModifier:
		return ptrOrNil(f.ResponseHeaderModifier)
	case gwv1.HTTPRouteFilterRequestMirror:
		return ptrOrNil(f.RequestMirror)
	case gwv1.HTTPRouteFilterCORS:
		return ptrOrNil(f.CORS)
	case gwv1.HTTPRouteFilterRequestRedirect:
		return ptrOrNil(f.RequestRedirect)
	case gwv1.HTTPRouteFilterURLRewrite:
		return ptrOrNil(f.URLRewrite)
	}
	return nil
}

func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// needPrefixMatches fails a rule using ReplacePrefixMatch whose matches
// are not all path prefixes: the prefix to replace is the matched one.
func needPrefixMatches(rule *httpRule, field string) {
	for _, m := range rule.matches {
		if !m.isPrefix {
			rule.invalid.fail(string(gwv1.RouteReasonUnsupportedValue), field+": ReplacePrefixMatch needs PathPrefix matches")
			return
		}
	}
}

// httpMiddlewares defines the middlewares of a rule's filters for one
// match on one port group, and returns their names in filter order.
// Names say what a middleware depends on (the match, the port), so that
// equal definitions share a name.
func (b *builder) httpMiddlewares(rv *routeView, rule *httpRule, j int, m httpMatch, g *portGroup) []string {
	var names []string
	base := fmt.Sprintf("%s-r%d", rv.base(), rule.idx)
	add := func(name string, mw *config.Middleware) {
		if _, ok := b.cfg.HTTP.Middlewares[name]; !ok {
			b.cfg.HTTP.Middlewares[name] = mw
			b.origin(config.KindMiddleware, name, fmt.Sprintf("%s rules[%d].filters", rv.origin(), rule.idx))
		}
		names = append(names, name)
	}
	for k, f := range rule.filters {
		fname := fmt.Sprintf("%s-f%d", base, k)
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier:
			add(fname, &config.Middleware{Headers: &config.Headers{CustomRequestHeaders: headerOps(f.RequestHeaderModifier)}})
		case gwv1.HTTPRouteFilterResponseHeaderModifier:
			add(fname, &config.Middleware{Headers: &config.Headers{CustomResponseHeaders: headerOps(f.ResponseHeaderModifier)}})
		case gwv1.HTTPRouteFilterCORS:
			add(fname, &config.Middleware{Headers: cors(f.CORS)})
		case gwv1.HTTPRouteFilterRequestRedirect:
			rr, byMatch, byPort := redirect(f.RequestRedirect, m, g)
			if byMatch {
				fname += fmt.Sprintf("-m%d", j)
			}
			if byPort {
				fname += fmt.Sprintf("-p%d", g.port)
			}
			add(fname, &config.Middleware{RedirectRegex: rr})
		case gwv1.HTTPRouteFilterURLRewrite:
			u := f.URLRewrite
			if u.Hostname != nil {
				add(fname+"-host", &config.Middleware{Headers: &config.Headers{CustomRequestHeaders: map[string]string{"Host": string(*u.Hostname)}}})
			}
			if u.Path != nil {
				switch u.Path.Type {
				case gwv1.FullPathHTTPPathModifier:
					add(fname+"-path", &config.Middleware{ReplacePath: &config.ReplacePath{Path: deref(u.Path.ReplaceFullPath)}})
				case gwv1.PrefixMatchHTTPPathModifier:
					re, repl := prefixRewrite(m.prefix, deref(u.Path.ReplacePrefixMatch), "", 0, false)
					add(fmt.Sprintf("%s-path-m%d", fname, j), &config.Middleware{ReplacePathRegex: &config.ReplacePathRegex{Regex: re, Replacement: repl}})
				}
			}
		case gwv1.HTTPRouteFilterExtensionRef:
			names = append(names, string(f.ExtensionRef.Name))
		}
	}
	return names
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// headerOps turns a header modifier into Ferry's header map: set and add
// set the value (Ferry's headers middleware replaces; it does not append),
// remove maps to the empty value.
func headerOps(f *gwv1.HTTPHeaderFilter) map[string]string {
	out := map[string]string{}
	for _, h := range f.Add {
		out[http.CanonicalHeaderKey(string(h.Name))] = h.Value
	}
	for _, h := range f.Set {
		out[http.CanonicalHeaderKey(string(h.Name))] = h.Value
	}
	for _, h := range f.Remove {
		out[http.CanonicalHeaderKey(h)] = ""
	}
	return out
}

// cors turns a CORS filter into Ferry's CORS headers.
func cors(c *gwv1.HTTPCORSFilter) *config.Headers {
	h := &config.Headers{
		AccessControlAllowCredentials: c.AllowCredentials != nil && *c.AllowCredentials,
		AccessControlMaxAge:           int(c.MaxAge),
	}
	for _, o := range c.AllowOrigins {
		s := string(o)
		if s != "*" && strings.Contains(s, "*") {
			h.AccessControlAllowOriginListRegex = append(h.AccessControlAllowOriginListRegex,
				"^"+strings.ReplaceAll(regexp.QuoteMeta(s), `\*`, `[^/]*`)+"$")
			continue
		}
		h.AccessControlAllowOriginList = append(h.AccessControlAllowOriginList, s)
	}
	for _, m := range c.AllowMethods {
		h.AccessControlAllowMethods = append(h.AccessControlAllowMethods, string(m))
	}
	for _, n := range c.AllowHeaders {
		h.AccessControlAllowHeaders = append(h.AccessControlAllowHeaders, string(n))
	}
	for _, n := range c.ExposeHeaders {
		h.AccessControlExposeHeaders = append(h.AccessControlExposeHeaders, string(n))
	}
	return h
}

// escapeRepl escapes $ in a literal part of a regexp replacement.
func escapeRepl(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// prefixRewrite returns the regexp and replacement that replace the
// matched path prefix (without its trailing slash; "" for "/") with repl,
// as the Gateway API says: /foo/bar with prefix /foo becomes /xyz/bar for
// /xyz and /bar for /. before is put in front of the path in the regexp,
// with groups capture groups; withQuery keeps a query string that follows
// the path.
func prefixRewrite(prefix, repl, before string, groups int, withQuery bool) (string, string) {
	r := strings.TrimRight(repl, "/")
	rest := fmt.Sprintf("${%d}", groups+1)
	query, tail := "", ""
	if withQuery {
		query, tail = `(\?.*)?`, fmt.Sprintf("${%d}", groups+2)
	}
	if r == "" {
		return "^" + before + regexp.QuoteMeta(prefix) + "/?([^?]*)" + query + "$", "/" + rest + tail
	}
	return "^" + before + regexp.QuoteMeta(prefix) + "(/[^?]*)?" + query + "$", escapeRepl(r) + rest + tail
}

// urlHead matches the scheme and authority of the URL Ferry's
// redirectRegex sees, capturing the host without its port (one group).
const urlHead = `[a-z]+://(\[[^\]]*\]|[^/:]*)(?::[0-9]+)?`

// redirect turns a RequestRedirect filter into a redirectRegex for one
// match on one port group. byMatch and byPort say whether the result
// depends on the match (ReplacePrefixMatch) and on the listener's port (no
// scheme and no port given).
func redirect(f *gwv1.HTTPRequestRedirectFilter, m httpMatch, g *portGroup) (rr *config.RedirectRegex, byMatch, byPort bool) {
	reqScheme := "http"
	if g.tls {
		reqScheme = "https"
	}
	sch := reqScheme
	if f.Scheme != nil {
		sch = strings.ToLower(*f.Scheme)
	}
	port := ""
	switch {
	case f.Port != nil:
		port = strconv.Itoa(int(*f.Port))
	case f.Scheme == nil || defaultPort(sch) == "":
		port = strconv.Itoa(int(g.port))
		byPort = true
	}
	if port == defaultPort(sch) {
		port = ""
	}
	host := "${1}"
	if f.Hostname != nil {
		host = escapeRepl(string(*f.Hostname))
	}
	target := escapeRepl(sch) + "://" + host
	if port != "" {
		target += ":" + port
	}
	rr = &config.RedirectRegex{Permanent: f.StatusCode != nil && slices.Contains([]int{301, 308}, *f.StatusCode)}
	switch {
	case f.Path != nil && f.Path.Type == gwv1.FullPathHTTPPathModifier:
		rr.Regex = "^" + urlHead + `[^?]*(\?.*)?$`
		rr.Replacement = target + escapeRepl(deref(f.Path.ReplaceFullPath)) + "${2}"
	case f.Path != nil && f.Path.Type == gwv1.PrefixMatchHTTPPathModifier:
		re, repl := prefixRewrite(m.prefix, deref(f.Path.ReplacePrefixMatch), urlHead, 1, true)
		rr.Regex, rr.Replacement = re, target+repl
		byMatch = true
	default:
		rr.Regex = "^" + urlHead + "(.*)$"
		rr.Replacement = target + "${2}"
	}
	return rr, byMatch, byPort
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
