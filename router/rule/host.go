package rule

import (
	"errors"
	"net/netip"
	"strings"
)

// NormalizeHost returns the host of a Host header or authority in the form
// that Host matchers compare: lower-case, without port, brackets or one
// trailing dot. "Example.COM:8080" gives "example.com", "[::1]:80" gives
// "::1". It does not allocate when the input is already lower-case and has
// no port or trailing dot.
func NormalizeHost(hostport string) string {
	h := hostport
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i+1:], ':') < 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	return lowerASCII(h)
}

// lowerASCII lower-cases the ASCII letters of s, allocating only when s has
// an upper-case letter.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// errHostWildcard is hostArg's error for a '*'; callers say what to use
// instead.
var errHostWildcard = errors.New("wildcards are not supported here")

// hostArg validates a Host matcher argument and returns it in the form
// NormalizeHost produces.
func hostArg(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty host")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return "", errors.New("non-ASCII characters are not allowed, use the punycode (xn--) form")
		case c <= ' ' || c == 0x7f:
			return "", errors.New("whitespace and control characters are not allowed")
		case c == '/' || c == '?' || c == '#' || c == '@' || c == '\\':
			return "", errors.New("a host must not contain '/', '?', '#', '@' or '\\'")
		case c == '*':
			return "", errHostWildcard
		}
	}
	if s[0] == '[' {
		inner, ok := strings.CutSuffix(s[1:], "]")
		if a, err := netip.ParseAddr(inner); !ok || err != nil || !a.Is6() {
			return "", errors.New("invalid IPv6 literal")
		}
		return lowerASCII(inner), nil
	}
	if strings.IndexByte(s, ':') >= 0 {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			return lowerASCII(s), nil
		}
		return "", errors.New("a host must not include a port (the request's port is ignored when matching)")
	}
	h := lowerASCII(strings.TrimSuffix(s, "."))
	if h == "" {
		return "", errors.New("empty host")
	}
	return h, nil
}

// hostArgs validates every argument of a v2 Host matcher, which takes
// exact names only.
func hostArgs(args []string) ([]string, error) {
	hosts := make([]string, len(args))
	for i, a := range args {
		h, err := hostArg(a)
		if errors.Is(err, errHostWildcard) {
			err = errors.New("wildcard hosts need rule syntax v3 (Host(`*.example.com`)); in v2 use HostRegexp(`{sub:[a-z0-9-]+}.example.com`)")
		}
		if err != nil {
			return nil, argErr(i, err)
		}
		hosts[i] = h
	}
	return hosts, nil
}

// hostsOf is the hosts and domains function of v2 Host matchers; build
// has validated args.
func hostsOf(args []string) []string {
	hosts, err := hostArgs(args)
	if err != nil {
		return nil
	}
	return hosts
}

// hostV3 reads the argument of a v3 Host matcher: "*" (any host, all
// true), a wildcard "*.example.com" (parent "example.com"), or an exact
// name (host).
func hostV3(arg string) (host, parent string, all bool, err error) {
	switch {
	case arg == "*":
		return "", "", true, nil
	case strings.HasPrefix(arg, "*"):
		parent, err = wildcardArg(arg)
		return "", parent, false, err
	}
	host, err = hostArg(arg)
	if errors.Is(err, errHostWildcard) {
		_, err = wildcardArg(arg)
	}
	return host, "", false, err
}

// buildHostV3 compiles Host(`example.com`), Host(`*.example.com`) and
// Host(`*`). Host(`*`) matches every request, even one without a host.
func buildHostV3(args []string) (matchFunc[Request], error) {
	host, parent, all, err := hostV3(args[0])
	switch {
	case err != nil:
		return nil, argErr(0, err)
	case all:
		return func(*Request) bool { return true }, nil
	case parent != "":
		return func(r *Request) bool { return ParentDomain(r.Host) == parent }, nil
	}
	return func(r *Request) bool { return r.Host == host }, nil
}

// hostsV3 is the hosts function of v3 Host: nil for Host(`*`), else the
// name or the wildcard, lower-case.
func hostsV3(args []string) []string {
	host, parent, all, err := hostV3(args[0])
	switch {
	case err != nil || all:
		return nil
	case parent != "":
		return []string{"*." + parent}
	}
	return []string{host}
}
