package rule

import (
	"errors"
	"net/url"
	"strings"
)

// The routing path. Path matchers compare the path as the client sent it,
// not Go's decoded URL.Path: an encoded reserved character such as %2F or
// %23 stays encoded, so it is never mistaken for a separator, and a
// request cannot reach a route a PathPrefix guards (or dodge one) by
// encoding a slash. Only equivalent spellings are merged: percent-encoded
// characters without a special meaning are decoded (%61 is a, %20 a
// space), and the hex digits of the kept ones are upper-cased (%2f is
// %2F), as RFC 3986 section 6.2.2 normalises.

// keptEncoded reports whether an encoded byte stays encoded in the routing
// path: RFC 3986's reserved characters (gen-delims and sub-delims), '%',
// '\' (a separator to some servers) and control characters.
func keptEncoded(c byte) bool {
	return c < 0x20 || c == 0x7f || strings.IndexByte(":/?#[]@!$&'()*+,;=%\\", c) >= 0
}

// reencoded reports whether url.URL.EscapedPath writes c percent-encoded
// and keptEncoded keeps it so: such a byte in URL.Path was sent encoded.
func reencoded(c byte) bool {
	switch c {
	case '?', '#', '[', ']', '!', '\'', '(', ')', '*', '%', '\\', 0x7f:
		return true
	}
	return c < 0x20
}

// RoutingPath returns the path that path matchers compare: u's path as
// sent, with the percent-encodings of characters without a special
// meaning decoded and the others upper-cased. /a%2Fb stays /a%2Fb (one
// segment), /%61dmin is /admin, /a%2fb is /a%2Fb. It does not allocate
// for the common path that was sent without percent-encoded reserved
// characters.
func RoutingPath(u *url.URL) string {
	if u.RawPath == "" && !hasReencoded(u.Path) {
		return u.Path // sent as EscapedPath writes it: every escape in it decodes to a plain character
	}
	p, _ := normalizeEscaped(u.EscapedPath())
	return p
}

// hasReencoded reports whether a byte of path is one that reencoded
// reports.
func hasReencoded(path string) bool {
	for i := 0; i < len(path); i++ {
		if reencoded(path[i]) {
			return true
		}
	}
	return false
}

var errPercent = errors.New("invalid percent-encoding: write a literal % as %25")

// normalizeEscaped decodes the percent-encodings of s that keptEncoded
// does not keep and upper-cases the hex digits of the rest. It reports an
// error (and returns s) when a '%' is not followed by two hex digits.
func normalizeEscaped(s string) (string, error) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
			return s, errPercent
		}
		d := unhex(s[i+1])<<4 | unhex(s[i+2])
		if keptEncoded(d) {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
		} else {
			b.WriteByte(d)
		}
		i += 2
	}
	return b.String(), nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// pathArg validates a Path or PathPrefix argument and returns it in
// routing path form, so that Path(`/a%2fb`) and Path(`/a%2Fb`) are one
// rule and Path(`/caf%C3%A9`) matches like Path(`/café`).
func pathArg(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("a path must start with '/'")
	}
	if strings.ContainsAny(p, "?#") {
		return "", errors.New("a path cannot contain '?' or '#' (match the query with Query; write %3F or %23 for an encoded one)")
	}
	return normalizeEscaped(p)
}
