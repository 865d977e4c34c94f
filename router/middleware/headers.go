package middleware

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// headerOp sets (value != nil) or removes (value == nil) one header.
type headerOp struct {
	key   string
	value []string
}

// headers sets request and response headers, answers CORS preflight
// requests and adds security headers. Everything is canonicalised at build.
type headers struct {
	reqOps  []headerOp
	respOps []headerOp // custom response headers and security headers

	cors          bool
	anyOrigin     bool
	origins       map[string]bool
	originRegex   []*regexp.Regexp
	credentials   bool
	allowMethods  string
	allowHeaders  string
	exposeHeaders string
	maxAge        string

	sts      string // Strict-Transport-Security value, "" for none
	forceSTS bool
	pins     string       // Public-Key-Pins value for TLS answers, "" for none
	sec      *secureHosts // allowedHosts, sslRedirect…; nil for none (headers_secure.go)
}

func newHeaders(c *config.Headers) (Wrapper, error) {
	h := &headers{}
	for _, k := range sortedKeys(c.CustomRequestHeaders) {
		op, err := newHeaderOp(k, c.CustomRequestHeaders[k])
		if err != nil {
			return nil, fmt.Errorf("headers.customRequestHeaders: %w", err)
		}
		h.reqOps = append(h.reqOps, op)
	}
	security := []struct {
		on    bool
		key   string
		value string
	}{
		{c.FrameDeny && c.CustomFrameOptionsValue == "", "X-Frame-Options", "DENY"},
		{c.CustomFrameOptionsValue != "", "X-Frame-Options", c.CustomFrameOptionsValue},
		{c.ContentTypeNosniff, "X-Content-Type-Options", "nosniff"},
		{c.BrowserXSSFilter && c.CustomBrowserXSSValue == "", "X-Xss-Protection", "1; mode=block"},
		{c.CustomBrowserXSSValue != "", "X-Xss-Protection", c.CustomBrowserXSSValue},
		{c.ReferrerPolicy != "", "Referrer-Policy", c.ReferrerPolicy},
		{c.ContentSecurityPolicy != "", "Content-Security-Policy", c.ContentSecurityPolicy},
		{c.PermissionsPolicy != "", "Permissions-Policy", c.PermissionsPolicy},
		{c.ContentSecurityPolicyReportOnly != "", "Content-Security-Policy-Report-Only", c.ContentSecurityPolicyReportOnly},
	}
	h.pins, h.sec = c.PublicKey, newSecureHosts(c)
	for _, s := range security {
		if s.on {
			h.respOps = append(h.respOps, headerOp{key: s.key, value: []string{s.value}})
		}
	}
	// Custom response headers come last so they can override (or remove)
	// a security header.
	for _, k := range sortedKeys(c.CustomResponseHeaders) {
		op, err := newHeaderOp(k, c.CustomResponseHeaders[k])
		if err != nil {
			return nil, fmt.Errorf("headers.customResponseHeaders: %w", err)
		}
		h.respOps = append(h.respOps, op)
	}
	if c.STSSeconds < 0 {
		return nil, fmt.Errorf("headers.stsSeconds: negative value %d", c.STSSeconds)
	}
	if c.STSSeconds > 0 {
		h.sts = "max-age=" + strconv.Itoa(c.STSSeconds)
		if c.STSIncludeSubdomains {
			h.sts += "; includeSubDomains"
		}
		if c.STSPreload {
			h.sts += "; preload"
		}
		h.forceSTS = c.ForceSTSHeader
	}
	for i, expr := range c.AccessControlAllowOriginListRegex {
		re, err := compileRegex(fmt.Sprintf("headers.accessControlAllowOriginListRegex[%d]", i), expr)
		if err != nil {
			return nil, err
		}
		h.originRegex = append(h.originRegex, re)
	}
	if len(c.AccessControlAllowOriginList) > 0 || len(h.originRegex) > 0 {
		h.cors = true
		h.origins = make(map[string]bool, len(c.AccessControlAllowOriginList))
		for _, o := range c.AccessControlAllowOriginList {
			if o == "*" {
				h.anyOrigin = true
			}
			h.origins[o] = true
		}
		h.credentials = c.AccessControlAllowCredentials
		h.allowMethods = strings.Join(c.AccessControlAllowMethods, ", ")
		h.allowHeaders = strings.Join(c.AccessControlAllowHeaders, ", ")
		h.exposeHeaders = strings.Join(c.AccessControlExposeHeaders, ", ")
		if c.AccessControlMaxAge < 0 {
			return nil, fmt.Errorf("headers.accessControlMaxAge: negative value %d", c.AccessControlMaxAge)
		}
		if c.AccessControlMaxAge > 0 {
			h.maxAge = strconv.Itoa(c.AccessControlMaxAge)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, next) })
	}, nil
}

func newHeaderOp(k, v string) (headerOp, error) {
	if !validHeaderName(k) {
		return headerOp{}, fmt.Errorf("invalid header name %q", k)
	}
	op := headerOp{key: http.CanonicalHeaderKey(k)}
	if v != "" {
		op.value = []string{v}
	}
	return op, nil
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func (h *headers) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	origin := ""
	if h.cors {
		if v := r.Header["Origin"]; len(v) > 0 {
			origin = v[0]
		}
		if origin != "" && r.Method == http.MethodOptions && len(r.Header["Access-Control-Request-Method"]) > 0 {
			h.preflight(w, origin)
			return
		}
	}
	for _, op := range h.reqOps {
		switch {
		case op.key == "Host": // Go keeps the Host header in r.Host
			if op.value != nil {
				r.Host = op.value[0]
			}
		case op.value == nil:
			delete(r.Header, op.key)
		default:
			r.Header[op.key] = op.value[:1:1]
		}
	}
	if h.sec != nil && h.sec.handle(w, r) {
		return
	}
	secure := h.sts != "" && (h.forceSTS || h.sec.isSSL(r)) && !h.sec.development()
	pins := h.pins != "" && h.sec.isSSL(r) && !h.sec.development()
	if len(h.respOps) == 0 && origin == "" && !secure && !pins {
		next.ServeHTTP(w, r)
		return
	}
	hw := &headersWriter{ResponseWriter: w, h: h, origin: origin, secure: secure, pins: pins}
	next.ServeHTTP(hw, r)
	if !hw.wrote { // the handler wrote nothing: net/http sends an empty 200 with these headers
		hw.apply()
	}
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, ""
// when it is not allowed.
func (h *headers) allowOrigin(origin string) string {
	switch {
	case h.origins[origin]:
		return origin
	case h.matchOriginRegex(origin):
		return origin
	case h.anyOrigin && h.credentials: // "*" is not valid with credentials
		return origin
	case h.anyOrigin:
		return "*"
	}
	return ""
}

func (h *headers) matchOriginRegex(origin string) bool {
	for _, re := range h.originRegex {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight request without bothering the server.
func (h *headers) preflight(w http.ResponseWriter, origin string) {
	hd := w.Header()
	if allow := h.allowOrigin(origin); allow != "" {
		hd["Access-Control-Allow-Origin"] = []string{allow}
		if h.credentials {
			hd["Access-Control-Allow-Credentials"] = []string{"true"}
		}
		if h.allowMethods != "" {
			hd["Access-Control-Allow-Methods"] = []string{h.allowMethods}
		}
		if h.allowHeaders != "" {
			hd["Access-Control-Allow-Headers"] = []string{h.allowHeaders}
		}
		if h.maxAge != "" {
			hd["Access-Control-Max-Age"] = []string{h.maxAge}
		}
	}
	hd.Add("Vary", "Origin")
	hd["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusOK)
}

// headersWriter applies the response headers just before they are sent.
type headersWriter struct {
	http.ResponseWriter
	h      *headers
	origin string
	secure bool
	pins   bool
	wrote  bool
}

func (w *headersWriter) apply() {
	w.wrote = true
	hd := w.ResponseWriter.Header()
	h := w.h
	for _, op := range h.respOps {
		if op.value == nil {
			delete(hd, op.key)
		} else {
			hd[op.key] = op.value[:1:1]
		}
	}
	if w.secure {
		hd["Strict-Transport-Security"] = []string{h.sts}
	}
	if w.pins {
		hd["Public-Key-Pins"] = []string{h.pins}
	}
	if w.origin != "" {
		if allow := h.allowOrigin(w.origin); allow != "" {
			hd["Access-Control-Allow-Origin"] = []string{allow}
			if h.credentials {
				hd["Access-Control-Allow-Credentials"] = []string{"true"}
			}
			if h.exposeHeaders != "" {
				hd["Access-Control-Expose-Headers"] = []string{h.exposeHeaders}
			}
		}
		if !h.anyOrigin || h.credentials {
			hd.Add("Vary", "Origin")
		}
	}
}

func (w *headersWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.apply()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headersWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.apply()
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers (applied) and buffered data.
func (w *headersWriter) Flush() {
	if !w.wrote {
		w.apply()
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (protocol upgrades).
func (w *headersWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *headersWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
