package ingress

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// Annotation prefixes read on Ingresses and Services. Ferry's wins when
// both set the same key.
const (
	FerryPrefix   = "ferry.ingress.kubernetes.io/"
	TraefikPrefix = "traefik.ingress.kubernetes.io/"
)

// annotation is one annotation under one of the prefixes.
type annotation struct {
	key   string // the full key, e.g. traefik.ingress.kubernetes.io/router.priority
	value string
	ferry bool // under Ferry's prefix
}

// annotations returns the annotations under both prefixes by their key
// after the prefix, lower-cased; Ferry's prefix wins over Traefik's.
func annotations(all map[string]string) map[string]annotation {
	out := map[string]annotation{}
	for k, v := range all {
		lk := strings.ToLower(k)
		if rest, ok := strings.CutPrefix(lk, TraefikPrefix); ok {
			if _, taken := out[rest]; !taken {
				out[rest] = annotation{key: k, value: v}
			}
		}
	}
	for k, v := range all {
		if rest, ok := strings.CutPrefix(strings.ToLower(k), FerryPrefix); ok {
			out[rest] = annotation{key: k, value: v, ferry: true}
		}
	}
	return out
}

// finding is something wrong with, or ignored in, one annotation.
type finding struct {
	key string // the full annotation key
	msg string
}

// findings are what parsing annotations found besides the values.
type findings struct {
	// problems disable the object the annotations are on.
	problems []finding
	// warnings are reported (as source problems) without disabling anything:
	// annotations Ferry accepts but cannot honour.
	warnings []finding
	// notes are logged at debug level only: annotations without effect in Ferry.
	notes []finding
}

func (f *findings) problem(a annotation, format string, args ...any) {
	f.problems = append(f.problems, finding{a.key, fmt.Sprintf("%q: ", a.value) + fmt.Sprintf(format, args...)})
}

// unknown records an annotation key Ferry does not know: a problem under
// Ferry's prefix (a typo must not pass silently), a warning under Traefik's
// (a Traefik feature Ferry lacks must not break a migration).
func (f *findings) unknown(a annotation) {
	if a.ferry {
		f.problems = append(f.problems, finding{a.key, "unknown annotation"})
		return
	}
	f.warnings = append(f.warnings, finding{a.key, "not supported by Ferry; ignored"})
}

func (f *findings) sort() {
	for _, l := range []*[]finding{&f.problems, &f.warnings, &f.notes} {
		slices.SortFunc(*l, func(a, b finding) int { return strings.Compare(a.key+a.msg, b.key+b.msg) })
	}
}

// routerAnnotations are the router.* annotations of an Ingress.
type routerAnnotations struct {
	entryPoints  []string
	middlewares  []string
	priority     int
	tls          bool
	certResolver string
	tlsOptions   string
	domains      []config.Domain
	pathMatcher  string // Path, PathPrefix or PathRegexp; "" for the default
}

// parseRouterAnnotations reads the router annotations of an Ingress.
func parseRouterAnnotations(all map[string]string) (routerAnnotations, findings) {
	var r routerAnnotations
	var f findings
	domains := map[int]*config.Domain{}
	for key, a := range annotations(all) {
		switch key {
		case "router.entrypoints":
			r.entryPoints = list(a.value)
		case "router.middlewares":
			r.middlewares = list(a.value)
		case "router.priority":
			n, err := strconv.Atoi(strings.TrimSpace(a.value))
			if err != nil || n < 0 {
				f.problem(a, "want a non-negative integer")
				continue
			}
			r.priority = n
		case "router.tls":
			b, err := strconv.ParseBool(strings.TrimSpace(a.value))
			if err != nil {
				f.problem(a, "want true or false")
				continue
			}
			r.tls = b
		case "router.tls.certresolver":
			r.certResolver = strings.TrimSpace(a.value)
		case "router.tls.options":
			r.tlsOptions = strings.TrimSpace(a.value)
		case "router.pathmatcher":
			switch v := strings.TrimSpace(a.value); v {
			case "Path", "PathPrefix", "PathRegexp":
				r.pathMatcher = v
			default:
				f.problem(a, "want Path, PathPrefix or PathRegexp")
			}
		case "router.rulesyntax":
			switch strings.TrimSpace(a.value) {
			case "v3":
			case "v2":
				f.notes = append(f.notes, finding{a.key, "the rules Ferry makes from Ingress hosts and paths are rule syntax v3 and are read as such"})
			default:
				f.problem(a, "want v2 or v3")
			}
		default:
			if rest, ok := strings.CutPrefix(key, "router.tls.domains."); ok {
				if !domainAnnotation(domains, rest, a.value) {
					f.problem(a, "want router.tls.domains.<n>.main or router.tls.domains.<n>.sans")
				}
				continue
			}
			if strings.HasPrefix(key, "router.observability.") {
				f.notes = append(f.notes, finding{a.key, "Ferry's access log, metrics and tracing are configured statically; ignored"})
				continue
			}
			f.unknown(a)
		}
	}
	for _, i := range slices.Sorted(maps.Keys(domains)) {
		r.domains = append(r.domains, *domains[i])
	}
	f.sort()
	return r, f
}

// domainAnnotation records router.tls.domains.<n>.{main,sans}.
func domainAnnotation(domains map[int]*config.Domain, rest, value string) bool {
	idx, field, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(idx)
	if !ok || err != nil || n < 0 {
		return false
	}
	d := domains[n]
	if d == nil {
		d = &config.Domain{}
		domains[n] = d
	}
	switch field {
	case "main":
		d.Main = strings.TrimSpace(value)
	case "sans":
		d.SANs = list(value)
	default:
		return false
	}
	return true
}

// serviceAnnotations are the service.* annotations of a Kubernetes Service.
type serviceAnnotations struct {
	scheme         string // http, https or h2c; "" for the default
	passHostHeader *bool
	sticky         *config.Sticky
	nativeLB       *bool
}

// parseServiceAnnotations reads the service annotations of a Service.
func parseServiceAnnotations(all map[string]string) (serviceAnnotations, findings) {
	var s serviceAnnotations
	var f findings
	var cookie config.Cookie
	sticky := false
	boolean := func(a annotation) (bool, bool) {
		b, err := strconv.ParseBool(strings.TrimSpace(a.value))
		if err != nil {
			f.problem(a, "want true or false")
			return false, false
		}
		return b, true
	}
	for key, a := range annotations(all) {
		switch key {
		case "service.serversscheme":
			switch v := strings.ToLower(strings.TrimSpace(a.value)); v {
			case "http", "https", "h2c":
				s.scheme = v
			default:
				f.problem(a, "want http, https or h2c")
			}
		case "service.passhostheader":
			if b, ok := boolean(a); ok {
				s.passHostHeader = &b
			}
		case "service.nativelb":
			if b, ok := boolean(a); ok {
				s.nativeLB = &b
			}
		case "service.sticky.cookie":
			if b, ok := boolean(a); ok {
				sticky = sticky || b
			}
		case "service.sticky.cookie.name":
			cookie.Name, sticky = strings.TrimSpace(a.value), true
		case "service.sticky.cookie.secure":
			if b, ok := boolean(a); ok {
				cookie.Secure, sticky = b, true
			}
		case "service.sticky.cookie.httponly":
			if b, ok := boolean(a); ok {
				cookie.HTTPOnly, sticky = b, true
			}
		case "service.sticky.cookie.samesite":
			switch v := strings.ToLower(strings.TrimSpace(a.value)); v {
			case "none", "lax", "strict", "":
				cookie.SameSite, sticky = v, true
			default:
				f.problem(a, "want none, lax or strict")
			}
		case "service.sticky.cookie.maxage":
			n, err := strconv.Atoi(strings.TrimSpace(a.value))
			if err != nil || n < 0 {
				f.problem(a, "want a non-negative number of seconds")
				continue
			}
			cookie.MaxAge, sticky = n, true
		case "service.sticky.cookie.path":
			cookie.Path, sticky = strings.TrimSpace(a.value), true
		case "service.serverstransport":
			f.warnings = append(f.warnings, finding{a.key, "Ferry has no serversTransport objects; the default transport is used (it verifies https servers' certificates against the system roots)"})
		case "service.nodeportlb":
			f.warnings = append(f.warnings, finding{a.key, "not supported by Ferry (it reads no Nodes); endpoints are used"})
		case "service.sticky.cookie.domain":
			cookie.Domain, sticky = strings.TrimSpace(a.value), true
		default:
			f.unknown(a)
		}
	}
	if sticky {
		s.sticky = &config.Sticky{Cookie: &cookie}
	}
	f.sort()
	return s, f
}

// list splits a comma-separated annotation value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
