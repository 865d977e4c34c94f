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

// httpMatchers is the matcher table of HTTP rules. It is never modified.
var httpMatchers = matcherTable[Request]{
	"Host":          {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildHost, hosts: hostsOf},
	"HostHeader":    {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildHost, hosts: hostsOf},
	"HostRegexp":    {minArgs: 1, maxArgs: -1, cost: costRegexp, build: buildHostRegexp},
	"Path":          {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildPath},
	"PathPrefix":    {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildPathPrefix},
	"PathRegexp":    {minArgs: 1, maxArgs: 1, cost: costRegexp, build: buildPathRegexp},
	"Method":        {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildMethod},
	"Header":        {minArgs: 2, maxArgs: 2, cost: costMedium, build: buildHeader},
	"Headers":       {minArgs: 2, maxArgs: 2, cost: costMedium, build: buildHeader},
	"HeaderRegexp":  {minArgs: 2, maxArgs: 2, cost: costRegexp, build: buildHeaderRegexp},
	"HeadersRegexp": {minArgs: 2, maxArgs: 2, cost: costRegexp, build: buildHeaderRegexp},
	"Query":         {minArgs: 1, maxArgs: 2, cost: costScan, build: buildQuery},
	"QueryRegexp":   {minArgs: 2, maxArgs: 2, cost: costRegexp, build: buildQueryRegexp},
	"ClientIP":      {minArgs: 1, maxArgs: -1, cost: costScan, build: buildClientIP},
}

// manyHosts is the number of hosts above which a Host matcher uses a map.
const manyHosts = 8

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

// compileRegexps compiles args[from:], reporting the first bad one.
func compileRegexps(args []string, from int) ([]*regexp.Regexp, error) {
	res := make([]*regexp.Regexp, 0, len(args)-from)
	for i := from; i < len(args); i++ {
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

func buildHostRegexp(args []string) (matchFunc[Request], error) {
	for i, a := range args {
		if v2Template(a, true) {
			return nil, argErr(i, errV2Template)
		}
	}
	res, err := compileRegexps(args, 0)
	if err != nil {
		return nil, err
	}
	return func(r *Request) bool { return matchAny(res, r.Host) }, nil
}

// pathArgs checks that every path starts with '/'.
func pathArgs(args []string) error {
	for i, p := range args {
		if !strings.HasPrefix(p, "/") {
			return argErr(i, errors.New("a path must start with '/'"))
		}
		if v2Template(p, false) {
			return argErr(i, fmt.Errorf("%w (PathRegexp)", errV2Template))
		}
	}
	return nil
}

func buildPath(args []string) (matchFunc[Request], error) {
	if err := pathArgs(args); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		p := args[0]
		return func(r *Request) bool { return r.HTTP.URL.Path == p }, nil
	}
	paths := slices.Clone(args)
	return func(r *Request) bool { return slices.Contains(paths, r.HTTP.URL.Path) }, nil
}

func buildPathPrefix(args []string) (matchFunc[Request], error) {
	if err := pathArgs(args); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		p := args[0]
		return func(r *Request) bool { return strings.HasPrefix(r.HTTP.URL.Path, p) }, nil
	}
	prefixes := slices.Clone(args)
	return func(r *Request) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(r.HTTP.URL.Path, p) {
				return true
			}
		}
		return false
	}, nil
}

func buildPathRegexp(args []string) (matchFunc[Request], error) {
	res, err := compileRegexps(args, 0)
	if err != nil {
		return nil, err
	}
	re := res[0]
	return func(r *Request) bool { return re.MatchString(r.HTTP.URL.Path) }, nil
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

func buildMethod(args []string) (matchFunc[Request], error) {
	for i, m := range args {
		if !isToken(m) {
			return nil, argErr(i, errors.New("not a valid method name"))
		}
	}
	methods := slices.Clone(args)
	return func(r *Request) bool {
		for _, m := range methods {
			if strings.EqualFold(r.HTTP.Method, m) {
				return true
			}
		}
		return false
	}, nil
}

// headerKey validates a header name and returns its canonical form.
func headerKey(k string) (string, error) {
	if !isToken(k) {
		return "", argErr(0, errors.New("not a valid header name"))
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
	key, err := headerKey(args[0])
	if err != nil {
		return nil, err
	}
	want := args[1]
	return headerMatch(key, func(v string) bool { return v == want }), nil
}

func buildHeaderRegexp(args []string) (matchFunc[Request], error) {
	key, err := headerKey(args[0])
	if err != nil {
		return nil, err
	}
	res, err := compileRegexps(args, 1)
	if err != nil {
		return nil, err
	}
	return headerMatch(key, res[0].MatchString), nil
}

func buildQuery(args []string) (matchFunc[Request], error) {
	key, want, anyValue := args[0], "", false
	switch {
	case len(args) == 2:
		want = args[1]
	case strings.Contains(key, "="):
		key, want, _ = strings.Cut(key, "=")
	default:
		anyValue = true
	}
	if key == "" {
		return nil, argErr(0, errors.New("empty query parameter name"))
	}
	ok := func(v string) bool { return v == want }
	if anyValue {
		ok = func(string) bool { return true }
	}
	return func(r *Request) bool { return queryMatch(r.HTTP.URL.RawQuery, key, ok) }, nil
}

func buildQueryRegexp(args []string) (matchFunc[Request], error) {
	key := args[0]
	if key == "" {
		return nil, argErr(0, errors.New("empty query parameter name"))
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
