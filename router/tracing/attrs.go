package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"golang.org/x/net/http/httpguts"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
)

// capturedHeader is one header recorded as a span attribute, resolved when
// the tracer is made.
type capturedHeader struct {
	name     string             // canonical header name
	key      attribute.Key      // http.request.header.<lower-case name>
	redacted attribute.KeyValue // the attribute of a credential header, else invalid
}

// captureList resolves header names under the attribute prefix.
func captureList(names []string, prefix string) ([]capturedHeader, error) {
	out := make([]capturedHeader, 0, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		if !httpguts.ValidHeaderFieldName(n) {
			return nil, fmt.Errorf("[%d]: %q is not a header name", i, n)
		}
		c := capturedHeader{name: textproto.CanonicalMIMEHeaderKey(n), key: attribute.Key(prefix + strings.ToLower(n))}
		if seen[c.name] {
			continue
		}
		seen[c.name] = true
		if config.IsSecretName(n) {
			c.redacted = c.key.StringSlice([]string{config.RedactedText})
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// capture appends to dst the attributes of the headers of list present in h.
func capture(dst []attribute.KeyValue, list []capturedHeader, h http.Header) []attribute.KeyValue {
	for _, c := range list {
		v, ok := h[c.name]
		if !ok {
			continue
		}
		if c.redacted.Valid() {
			dst = append(dst, c.redacted)
		} else {
			dst = append(dst, c.key.StringSlice(v))
		}
	}
	return dst
}

// normalizeMethod returns the method as semantic conventions record it:
// a known method as is, anything else as _OTHER (original is then true).
func normalizeMethod(m string) (method string, original bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch, "QUERY":
		return m, false
	}
	return "_OTHER", true
}

// spanName is the span name of a request with normalized method m before
// its route is known: the method, or HTTP for an unknown one.
func spanName(m string) string {
	if m == "_OTHER" {
		return "HTTP"
	}
	return m
}

// protocolVersion is network.protocol.version for HTTP major.minor.
func protocolVersion(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 2:
		return "2"
	case major == 3:
		return "3"
	case major == 1 && minor == 0:
		return "1.0"
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

// splitHostPort splits a Host header or an address into host (without
// brackets) and port, defaultPort when it has none. It does not allocate.
func splitHostPort(hostport string, defaultPort int) (string, int) {
	host, port := hostport, defaultPort
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		if p, err := strconv.Atoi(hostport[i+1:]); err == nil {
			host, port = hostport[:i], p
		}
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host, port
}

// serverHostPort returns the host and port of a server's base URL
// (scheme://[userinfo@]host[:port][/path]), the scheme's default port when
// it has none. It does not allocate.
func serverHostPort(u string) (string, int) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		scheme, rest = "", u
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	return splitHostPort(rest, port)
}

// fullURL joins a server's base URL and a request path.
func fullURL(server, path string) string {
	if i := strings.IndexAny(server, "?#"); i >= 0 {
		server = server[:i]
	}
	if strings.HasSuffix(server, "/") && strings.HasPrefix(path, "/") {
		path = path[1:]
	}
	return server + path
}

// errorType is error.type: the class of a failure (fault kinds,
// "timeout", "canceled"), else the status code, else _OTHER.
func errorType(status int, err error) string {
	if err != nil {
		var fe *fault.Error
		switch {
		case errors.As(err, &fe):
			return faultType(fe.Kind)
		case errors.Is(err, context.DeadlineExceeded):
			return "timeout"
		case errors.Is(err, context.Canceled):
			return "canceled"
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "timeout"
		}
	}
	if status >= 400 {
		return statusText(status)
	}
	return "_OTHER"
}

// faultType names a fault kind as error.type.
func faultType(k fault.Kind) string {
	switch k {
	case fault.Upstream:
		return "upstream_error"
	case fault.UpstreamTimeout:
		return "upstream_timeout"
	case fault.ClientGone:
		return "client_gone"
	case fault.ClientTimeout:
		return "client_timeout"
	case fault.ClientMalformed:
		return "client_malformed"
	case fault.ClientTooLarge:
		return "client_too_large"
	}
	return "_OTHER"
}

// statusText is the status code in decimal, without allocating for the
// common ones.
func statusText(code int) string {
	switch code {
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 408:
		return "408"
	case 413:
		return "413"
	case 429:
		return "429"
	case 499:
		return "499"
	case 500:
		return "500"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}

// errorMessage is the span status description of err, its secrets redacted.
func errorMessage(err error) string {
	if err == nil {
		return ""
	}
	return config.RedactText(err.Error())
}

// parseTraceparent reads a W3C traceparent: it returns the low 64 bits of
// the trace id and the sampled flag; ok is false when the header is not a
// valid traceparent.
func parseTraceparent(h string) (low uint64, sampled bool, ok bool) {
	if len(h) < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-' || (len(h) > 55 && h[55] != '-') {
		return 0, false, false
	}
	version, ok1 := hexByte(h[0], h[1])
	flags, ok2 := hexByte(h[53], h[54])
	if !ok1 || !ok2 || version == 0xff || (version == 0 && len(h) != 55) {
		return 0, false, false
	}
	var nonzero byte
	for i := 3; i < 35; i++ {
		v, ok := hexDigit(h[i])
		if !ok {
			return 0, false, false
		}
		nonzero |= v
		if i >= 19 {
			low = low<<4 | uint64(v)
		}
	}
	var spanNonzero byte
	for i := 36; i < 52; i++ {
		v, ok := hexDigit(h[i])
		if !ok {
			return 0, false, false
		}
		spanNonzero |= v
	}
	if nonzero == 0 || spanNonzero == 0 {
		return 0, false, false
	}
	return low, flags&1 == 1, true
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

// hexDigit reads a lower-case hex digit, as W3C trace context requires.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
