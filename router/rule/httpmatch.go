package rule

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// httpV3 is the matcher table of HTTP rules in syntax v3, Traefik v3's:
// one value per matcher (Header, HeaderRegexp, Query and QueryRegexp take
// a name and a value). It is never modified.
var httpV3 = &matcherTable[Request]{syntax: SyntaxV3, specs: map[string]matcherSpec[Request]{
	"Host":         {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildHostV3, hosts: hostsV3, domains: hostsV3, anyOf: merging(buildHost)},
	"HostRegexp":   {minArgs: 1, maxArgs: 1, cost: costRegexp, build: buildHostRegexp},
	"Path":         {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildPath},
	"PathPrefix":   {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildPathPrefix},
	"PathRegexp":   {minArgs: 1, maxArgs: 1, cost: costRegexp, build: buildPathRegexp},
	"Method":       {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildMethod, anyOf: merging(buildMethod)},
	"Header":       {minArgs: 2, maxArgs: 2, cost: costMedium, build: buildHeader},
	"HeaderRegexp": {minArgs: 2, maxArgs: 2, cost: costRegexp, build: buildHeaderRegexp},
	"Query":        {minArgs: 1, maxArgs: 2, cost: costScan, build: buildQuery},
	"QueryRegexp":  {minArgs: 1, maxArgs: 2, cost: costRegexp, build: buildQueryRegexp},
	"ClientIP":     {minArgs: 1, maxArgs: 1, cost: costScan, build: buildClientIP, anyOf: merging(buildClientIP)},
}}

// manyHosts is the number of hosts above which a Host matcher uses a map.
const manyHosts = 8

// buildHost compiles a v2 Host matcher: any of several exact names (a
// map above manyHosts). It also merges v3's Host(`a`) || Host(`b`), and
// refuses wildcards, which v3 Host matchers then check one by one.
func buildHost(args []string) (matchFunc[Request], error) {
	hosts, err := hostArgs(args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(hosts) == 1:
		h := hosts[0]
		return func(r *Request) bool { return r.Host == h }, nil
	case len(hosts) > manyHosts:
		set := make(map[string]struct{}, len(hosts))
		for _, h := range hosts {
			set[h] = struct{}{}
		}
		return func(r *Request) bool {
			_, ok := set[r.Host]
			return ok
		}, nil
	default:
		return func(r *Request) bool { return slices.Contains(hosts, r.Host) }, nil
	}
}

// compileRegexps compiles args[from:], reporting the first bad or empty one.
func compileRegexps(args []string, from int) ([]*regexp.Regexp, error) {
	res := make([]*regexp.Regexp, 0, len(args)-from)
	for i := from; i < len(args); i++ {
		if args[i] == "" {
			return nil, argErr(i, errors.New("empty regular expression (it would match everything)"))
		}
		re, err := regexp.Compile(args[i])
		if err != nil {
			return nil, argErr(i, fmt.Errorf("invalid regexp: %w", err))
		}
		res = append(res, re)
	}
	return res, nil
}

// matchAny reports whether one of res matches s.
func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// v2Template reports whether s contains a Traefik v2 template variable:
// "{name:re}", or "{name}" as well when bare is set.
func v2Template(s string, bare bool) bool {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return false
		}
		s = s[i+1:]
		j := 0
		for j < len(s) && (j > 0 && isIdentPart(s[j]) || isIdentStart(s[j])) {
			j++
		}
		if j > 0 && j < len(s) && (s[j] == ':' || bare && s[j] == '}') {
			return true
		}
	}
}

// errV2Template explains that v2 template variables are gone.
var errV2Template = errors.New("template variables like {name:re} (Traefik v2 syntax) are not supported, use a regular expression")

// asciiArg rejects a non-ASCII argument i, as Traefik does for hosts.
func asciiArg(i int, s string) error {
	for j := 0; j < len(s); j++ {
		if s[j] >= 0x80 {
			return argErr(i, errors.New("non-ASCII characters are not allowed, use the punycode (xn--) form"))
		}
	}
	return nil
}

func buildHostRegexp(args []string) (matchFunc[Request], error) {
	if err := asciiArg(0, args[0]); err != nil {
		return nil, err
	}
	if v2Template(args[0], true) {
		return nil, argErr(0, errV2Template)
	}
	res, err := compileRegexps(args, 0)
	if err != nil {
		return nil, err
	}
	re := res[0]
	return func(r *Request) bool { return re.MatchString(r.Host) }, nil
}

// v3PathArg validates the argument of a v3 Path or PathPrefix and returns
// it in routing path form.
func v3PathArg(arg string) (string, error) {
	if v2Template(arg, false) {
		return "", argErr(0, fmt.Errorf("%w (PathRegexp)", errV2Template))
	}
	p, err := pathArg(arg)
	if err != nil {
		return "", argErr(0, err)
	}
	return p, nil
}

func buildPath(args []string) (matchFunc[Request], error) {
	p, err := v3PathArg(args[0])
	if err != nil {
		return nil, err
	}
	return func(r *Request) bool { return r.Path == p }, nil
}

func buildPathPrefix(args []string) (matchFunc[Request], error) {
	p, err := v3PathArg(args[0])
	if err != nil {
		return nil, err
	}
	return func(r *Request) bool { return strings.HasPrefix(r.Path, p) }, nil
}

func buildPathRegexp(args []string) (matchFunc[Request], error) {
	res, err := compileRegexps(args, 0)
	if err != nil {
		return nil, err
	}
	re := res[0]
	return func(r *Request) bool { return re.MatchString(r.Path) }, nil
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110), the
// syntax of methods and header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// buildMethod compiles Method: the request's method must be one of the
// arguments, compared case-sensitively as HTTP methods are. The arguments
// are upper-cased first, as Traefik does, so Method(`get`) is GET.
func buildMethod(args []string) (matchFunc[Request], error) {
	methods := make([]string, len(args))
	for i, m := range args {
		if !isToken(m) {
			return nil, argErr(i, errors.New("not a valid method name"))
		}
		methods[i] = strings.ToUpper(m)
	}
	if len(methods) == 1 {
		m := methods[0]
		return func(r *Request) bool { return r.HTTP.Method == m }, nil
	}
	return func(r *Request) bool { return slices.Contains(methods, r.HTTP.Method) }, nil
}

// headerKey validates header name argument i and returns its canonical form.
func headerKey(i int, k string) (string, error) {
	if !isToken(k) {
		return "", argErr(i, errors.New("not a valid header name"))
	}
	return http.CanonicalHeaderKey(k), nil
}

// headerMatch builds a matcher that reports whether a value of header key
// satisfies ok. Go keeps the Host header in Request.Host, so "Host" looks
// there.
func headerMatch(key string, ok func(string) bool) matchFunc[Request] {
	if key == "Host" {
		return func(r *Request) bool { return ok(r.HTTP.Host) }
	}
	return func(r *Request) bool {
		for _, v := range r.HTTP.Header[key] {
			if ok(v) {
				return true
			}
		}
		return false
	}
}

func buildHeader(args []string) (matchFunc[Request], error) {
	key, err := headerKey(0, args[0])
	if err != nil {
		return nil, err
	}
	want := args[1]
	return headerMatch(key, func(v string) bool { return v == want }), nil
}

func buildHeaderRegexp(args []string) (matchFunc[Request], error) {
	key, err := headerKey(0, args[0])
	if err != nil {
		return nil, err
	}
	res, err := compileRegexps(args, 1)
	if err != nil {
		return nil, err
	}
	return headerMatch(key, res[0].MatchString), nil
}

// queryKey validates the parameter name of a v3 Query or QueryRegexp.
func queryKey(k string) error {
	switch {
	case k == "":
		return argErr(0, errors.New("empty query parameter name"))
	case strings.IndexByte(k, '=') >= 0:
		return argErr(0, errors.New("Query(`k=v`) is the v2 form: in rule syntax v3 write Query(`k`, `v`)"))
	}
	return nil
}

// noValue reports whether a query value is empty: v3's Query(`k`) matches
// ?k and ?k= (use QueryRegexp(`k`, `.*`) for any value).
func noValue(v string) bool { return v == "" }

// buildQuery compiles Query(k, v): a value of query parameter k is v; and
// Query(k): k is given without a value, as in Traefik v3.
func buildQuery(args []string) (matchFunc[Request], error) {
	key := args[0]
	if err := queryKey(key); err != nil {
		return nil, err
	}
	ok := noValue
	if len(args) == 2 {
		want := args[1]
		ok = func(v string) bool { return v == want }
	}
	return func(r *Request) bool { return queryMatch(r.HTTP.URL.RawQuery, key, ok) }, nil
}

// buildQueryRegexp compiles QueryRegexp(k, re); with one argument it is
// Query(k), as in Traefik.
func buildQueryRegexp(args []string) (matchFunc[Request], error) {
	if len(args) == 1 {
		return buildQuery(args)
	}
	key := args[0]
	if err := queryKey(key); err != nil {
		return nil, err
	}
	res, err := compileRegexps(args, 1)
	if err != nil {
		return nil, err
	}
	ok := res[0].MatchString
	return func(r *Request) bool { return queryMatch(r.HTTP.URL.RawQuery, key, ok) }, nil
}

func buildClientIP(args []string) (matchFunc[Request], error) {
	prefixes := make([]netip.Prefix, len(args))
	for i, a := range args {
		p, err := ipRange(a)
		if err != nil {
			return nil, argErr(i, err)
		}
		prefixes[i] = p
	}
	return func(r *Request) bool {
		ip, ok := remoteIP(r.HTTP.RemoteAddr)
		if !ok {
			return false
		}
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}, nil
}

// ipRange parses an IP address or CIDR range. IPv4-mapped IPv6 ranges are
// turned into IPv4 ranges, since remote addresses are unmapped as well.
func ipRange(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.IndexByte(s, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("invalid CIDR range: %w", err)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("invalid IP address: %w", err)
		}
		if a.Zone() != "" {
			return p, errors.New("IPv6 zones are not supported")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// remoteIP extracts the address of a RemoteAddr, which is "host:port" or a
// bare IP, unmapping IPv4-mapped IPv6 addresses and dropping zones.
func remoteIP(addr string) (netip.Addr, bool) {
	var a netip.Addr
	if inner, ok := strings.CutPrefix(addr, "["); ok && strings.HasSuffix(inner, "]") {
		addr = inner[:len(inner)-1]
	}
	colon := strings.LastIndexByte(addr, ':')
	if colon >= 0 && (strings.HasPrefix(addr, "[") || strings.IndexByte(addr, ':') == colon) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return a, false
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(addr); err != nil {
			return a, false
		}
	}
	return a.Unmap().WithZone(""), true
}
