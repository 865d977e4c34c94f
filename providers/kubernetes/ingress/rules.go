package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	networkingv1 "k8s.io/api/networking/v1"
)

// normalize keeps letters and digits, joining the runs between them with
// '-', as Traefik does for names made from Kubernetes objects.
func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }), "-")
}

// hostRule is the rule part for an Ingress host: Host for a name, and for a
// wildcard (*.example.com) a HostRegexp matching exactly one more label, as
// the Ingress spec says.
func hostRule(host string) (string, error) {
	switch {
	case host == "":
		return "", nil
	case strings.HasPrefix(host, "*."):
		rest := host[2:]
		if rest == "" || strings.Contains(rest, "*") {
			return "", fmt.Errorf("invalid wildcard host %q", host)
		}
		return "HostRegexp(" + quote(`^[^.]+\.`+regexp.QuoteMeta(strings.ToLower(rest))+`$`) + ")", nil
	case strings.Contains(host, "*"):
		return "", fmt.Errorf("invalid host %q: a wildcard must be the whole first label", host)
	}
	return "Host(" + quote(host) + ")", nil
}

// pathRule is the rule part for an Ingress path. Exact is Path; Prefix
// matches whole segments (Path(`/a`) || PathPrefix(`/a/`)), trailing slash
// ignored; ImplementationSpecific (or no type) is PathPrefix, or the matcher
// the router.pathmatcher annotation names.
func pathRule(p networkingv1.HTTPIngressPath, matcher string) (string, error) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	switch pt {
	case networkingv1.PathTypeExact:
		if !strings.HasPrefix(p.Path, "/") {
			return "", fmt.Errorf("path %q: an Exact path must start with /", p.Path)
		}
		return "Path(" + quote(p.Path) + ")", nil
	case networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			return "", fmt.Errorf("path %q: a Prefix path must start with /", p.Path)
		}
		trimmed := strings.TrimRight(p.Path, "/")
		if trimmed == "" {
			return "PathPrefix(`/`)", nil
		}
		return "(Path(" + quote(trimmed) + ") || PathPrefix(" + quote(trimmed+"/") + "))", nil
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path == "" {
			return "", nil
		}
		if matcher == "" {
			matcher = "PathPrefix"
		}
		if matcher == "PathRegexp" {
			if _, err := regexp.Compile(p.Path); err != nil {
				return "", fmt.Errorf("path %q: %w", p.Path, err)
			}
		}
		return matcher + "(" + quote(p.Path) + ")", nil
	}
	return "", fmt.Errorf("unknown pathType %q", pt)
}

// and joins rule parts; no part at all matches every request.
func and(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	if len(nonEmpty) == 0 {
		return "PathPrefix(`/`)"
	}
	return strings.Join(nonEmpty, " && ")
}

// quote writes a rule argument in backticks, or as a Go string when it holds a backtick.
func quote(s string) string {
	if strings.Contains(s, "`") {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}
