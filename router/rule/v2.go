package rule

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// httpV2 is the matcher table of HTTP rules in syntax v2, Traefik v2's:
// several values per matcher (any of them matches; every pair of Headers,
// HeadersRegexp and Query must match), and gorilla/mux templates
// ({name} and {name:re}) in HostRegexp, Path, PathPrefix and Query values.
// It is never modified.
var httpV2 = &matcherTable[Request]{syntax: SyntaxV2, specs: map[string]matcherSpec[Request]{
	"Host":          {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildHost, hosts: hostsOf, domains: hostsOf},
	"HostHeader":    {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildHost, hosts: hostsOf, domains: hostsOf},
	"HostRegexp":    {minArgs: 1, maxArgs: -1, cost: costRegexp, build: buildHostRegexpV2, hosts: hostRegexpV2Hosts},
	"Path":          {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildPathV2},
	"PathPrefix":    {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildPathPrefixV2},
	"Method":        {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildMethod},
	"Headers":       {minArgs: 2, maxArgs: -1, pairs: true, cost: costMedium, build: buildHeadersV2},
	"HeadersRegexp": {minArgs: 2, maxArgs: -1, pairs: true, cost: costRegexp, build: buildHeadersRegexpV2},
	"Query":         {minArgs: 1, maxArgs: -1, cost: costScan, build: buildQueryV2},
	"ClientIP":      {minArgs: 1, maxArgs: -1, cost: costScan, build: buildClientIP},
}}

// template is a compiled v2 template: lit when it has no variable, else re.
type template struct {
	lit string
	re  *regexp.Regexp
}

// braceIndices returns the start and end (exclusive) of each top-level
// {...} of s, as gorilla/mux reads templates; braces nest.
func braceIndices(s string) ([]int, error) {
	var level, start int
	var idxs []int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if level++; level == 1 {
				start = i
			}
		case '}':
			if level--; level == 0 {
				idxs = append(idxs, start, i+1)
			} else if level < 0 {
				return nil, fmt.Errorf("unbalanced braces: '}' at offset %d has no '{'", i)
			}
		}
	}
	if level != 0 {
		return nil, fmt.Errorf("unbalanced braces: '{' at offset %d is not closed", start)
	}
	return idxs, nil
}

// compileTemplate compiles a v2 template: literal text, which lit checks
// and normalises, around {name} variables (matching def) and {name:re}
// ones. The regexp is anchored at the start, and at the end unless prefix.
func compileTemplate(tpl, def string, prefix bool, lit func(string) (string, error)) (template, error) {
	idxs, err := braceIndices(tpl)
	if err != nil {
		return template{}, err
	}
	if len(idxs) == 0 {
		s, err := lit(tpl)
		return template{lit: s}, err
	}
	var b strings.Builder
	b.WriteByte('^')
	end := 0
	for i := 0; i < len(idxs); i += 2 {
		raw, err := lit(tpl[end:idxs[i]])
		if err != nil {
			return template{}, err
		}
		name, patt, hasPatt := strings.Cut(tpl[idxs[i]+1:idxs[i+1]-1], ":")
		if !hasPatt {
			patt = def
		}
		if name == "" || patt == "" {
			return template{}, fmt.Errorf("missing name or pattern in %q", tpl[idxs[i]:idxs[i+1]])
		}
		b.WriteString(regexp.QuoteMeta(raw))
		b.WriteString("(?:" + patt + ")")
		end = idxs[i+1]
	}
	raw, err := lit(tpl[end:])
	if err != nil {
		return template{}, err
	}
	b.WriteString(regexp.QuoteMeta(raw))
	if !prefix {
		b.WriteByte('$')
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return template{}, fmt.Errorf("invalid regexp: %w", err)
	}
	return template{re: re}, nil
}

// compileTemplates compiles every argument with compileTemplate.
func compileTemplates(args []string, def string, prefix bool, lit func(string) (string, error)) ([]template, error) {
	out := make([]template, len(args))
	for i, a := range args {
		t, err := compileTemplate(a, def, prefix, lit)
		if err != nil {
			return nil, argErr(i, err)
		}
		out[i] = t
	}
	return out, nil
}

// hostLiteral checks and normalises the literal text of a HostRegexp
// template: host name characters only (a v3 regular expression given to
// v2 is refused here rather than matched literally).
func hostLiteral(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return "", errors.New("a host must not include a port (the request's port is ignored when matching)")
		case !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'):
			return "", fmt.Errorf("%q outside a {name:re} variable: a v2 host template is a host name with variables (regular expressions are rule syntax v3)", c)
		}
	}
	return lowerASCII(s), nil
}

// hostTemplates checks and compiles v2 HostRegexp (and HostSNIRegexp)
// arguments: {name} matches one label. A template without variables is an
// exact host.
func hostTemplates(args []string) ([]template, error) {
	for i, a := range args {
		if a == "" {
			return nil, argErr(i, errors.New("empty host"))
		}
		if err := asciiArg(i, a); err != nil {
			return nil, err
		}
	}
	ts, err := compileTemplates(args, "[^.]+", false, hostLiteral)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].re == nil {
			ts[i].lit = strings.TrimSuffix(ts[i].lit, ".")
		}
	}
	return ts, nil
}

// matchTemplates reports whether s matches one of ts, exactly or as a
// prefix.
func matchTemplates(ts []template, s string, prefix bool) bool {
	for _, t := range ts {
		switch {
		case t.re != nil:
			if t.re.MatchString(s) {
				return true
			}
		case prefix:
			if strings.HasPrefix(s, t.lit) {
				return true
			}
		case s == t.lit:
			return true
		}
	}
	return false
}

func buildHostRegexpV2(args []string) (matchFunc[Request], error) {
	ts, err := hostTemplates(args)
	if err != nil {
		return nil, err
	}
	return func(r *Request) bool { return matchTemplates(ts, r.Host, false) }, nil
}

// hostRegexpV2Hosts indexes HostRegexp(`example.com`), a template without
// variables, like Host(`example.com`); nil when a template has variables.
func hostRegexpV2Hosts(args []string) []string {
	ts, err := hostTemplates(args)
	if err != nil {
		return nil
	}
	hosts := make([]string, len(ts))
	for i, t := range ts {
		if t.re != nil {
			return nil
		}
		hosts[i] = t.lit
	}
	return hosts
}

// pathTemplates checks and compiles v2 Path and PathPrefix arguments:
// {name} matches one segment, literal text is in routing path form.
func pathTemplates(args []string, prefix bool) ([]template, error) {
	for i, a := range args {
		if !strings.HasPrefix(a, "/") {
			return nil, argErr(i, errors.New("a path must start with '/'"))
		}
	}
	return compileTemplates(args, "[^/]+", prefix, func(s string) (string, error) {
		if strings.ContainsAny(s, "?#") {
			return "", errors.New("a path cannot contain '?' or '#' (match the query with Query; write %3F or %23 for an encoded one)")
		}
		return normalizeEscaped(s)
	})
}

func buildPathV2(args []string) (matchFunc[Request], error) {
	ts, err := pathTemplates(args, false)
	if err != nil {
		return nil, err
	}
	if len(ts) == 1 && ts[0].re == nil {
		p := ts[0].lit
		return func(r *Request) bool { return r.Path == p }, nil
	}
	return func(r *Request) bool { return matchTemplates(ts, r.Path, false) }, nil
}

func buildPathPrefixV2(args []string) (matchFunc[Request], error) {
	ts, err := pathTemplates(args, true)
	if err != nil {
		return nil, err
	}
	if len(ts) == 1 && ts[0].re == nil {
		p := ts[0].lit
		return func(r *Request) bool { return strings.HasPrefix(r.Path, p) }, nil
	}
	return func(r *Request) bool { return matchTemplates(ts, r.Path, true) }, nil
}

// allOfPairs returns a matcher requiring every one of ms.
func allOfPairs(ms []matchFunc[Request]) matchFunc[Request] {
	if len(ms) == 1 {
		return ms[0]
	}
	return allOf(ms)
}

// buildHeadersV2 compiles Headers(k, v, ...): every header k has value v;
// an empty v only requires the header.
func buildHeadersV2(args []string) (matchFunc[Request], error) {
	ms := make([]matchFunc[Request], 0, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		key, err := headerKey(i, args[i])
		if err != nil {
			return nil, err
		}
		want := args[i+1]
		if want == "" {
			ms = append(ms, headerMatch(key, func(string) bool { return true }))
			continue
		}
		ms = append(ms, headerMatch(key, func(v string) bool { return v == want }))
	}
	return allOfPairs(ms), nil
}

// buildHeadersRegexpV2 compiles HeadersRegexp(k, re, ...): a value of
// every header k matches re (not anchored); an empty re only requires the
// header, as in v2.
func buildHeadersRegexpV2(args []string) (matchFunc[Request], error) {
	ms := make([]matchFunc[Request], 0, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		key, err := headerKey(i, args[i])
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(args[i+1])
		if err != nil {
			return nil, argErr(i+1, fmt.Errorf("invalid regexp: %w", err))
		}
		ms = append(ms, headerMatch(key, re.MatchString))
	}
	return allOfPairs(ms), nil
}

// buildQueryV2 compiles Query(`k=v`, ...): every parameter k has a value
// matching v, a literal or a template ({name} is any value); `k=` only
// requires the parameter.
func buildQueryV2(args []string) (matchFunc[Request], error) {
	ms := make([]matchFunc[Request], 0, len(args))
	for i, a := range args {
		key, val, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return nil, argErr(i, errors.New("expected key=value (rule syntax v2); Query(`k`) and Query(`k`, `v`) are rule syntax v3"))
		case key == "":
			return nil, argErr(i, errors.New("empty query parameter name"))
		}
		var match func(string) bool
		switch t, err := compileTemplate(val, ".*", false, func(s string) (string, error) { return s, nil }); {
		case err != nil:
			return nil, argErr(i, err)
		case val == "":
			match = func(string) bool { return true }
		case t.re != nil:
			match = t.re.MatchString
		default:
			match = func(v string) bool { return v == val }
		}
		ms = append(ms, func(r *Request) bool { return queryMatch(r.HTTP.URL.RawQuery, key, match) })
	}
	return allOfPairs(ms), nil
}

// buildHostSNIRegexpV2 compiles v2 HostSNIRegexp templates:
// {name:re} variables, {name} one label, case-insensitive, anchored.
func buildHostSNIRegexpV2(args []string) (matchFunc[TCPRequest], error) {
	ts, err := hostTemplates(args)
	if err != nil {
		return nil, err
	}
	return func(r *TCPRequest) bool { return matchTemplates(ts, r.SNI, false) }, nil
}
