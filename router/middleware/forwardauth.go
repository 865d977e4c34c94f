package middleware

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// maxAuthBody bounds the body of a denial copied back to the client.
const maxAuthBody = 1 << 20

// deleteHopHeaders removes the headers that are never copied between the
// client, the auth server and the application.
func deleteHopHeaders(h http.Header) {
	for _, k := range [...]string{
		"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	} {
		delete(h, k)
	}
}

// deleteForwardHeaders removes the X-Forwarded-* headers Ferry sends to the
// auth server itself unless trustForwardHeader is set.
func deleteForwardHeaders(h http.Header) {
	for _, k := range [...]string{
		"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri", "X-Forwarded-For",
	} {
		delete(h, k)
	}
}

// forwardAuth asks an authentication server about each request: a 2xx
// answer lets the request through (with selected headers of the answer), any
// other answer goes back to the client as is.
type forwardAuth struct {
	address        string
	trust          bool
	respHeaders    []string
	respRegex      *regexp.Regexp
	requestHeaders []string // nil: all but hop-by-hop
	client         *http.Client
	log            *zap.Logger
	body           authBody // forwardBody, maxBodySize, preserveRequestMethod, maxResponseBodySize (forwardauth_body.go)
}

func newForwardAuth(c *config.ForwardAuth, opts Options) (Wrapper, error) {
	u, err := url.Parse(c.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("forwardAuth.address: want an http:// or https:// URL, got %q", c.Address)
	}
	f := &forwardAuth{address: c.Address, trust: c.TrustForwardHeader, log: opts.Log, body: newAuthBody(c)}
	for _, h := range c.AuthResponseHeaders {
		f.respHeaders = append(f.respHeaders, http.CanonicalHeaderKey(h))
	}
	if c.AuthResponseHeadersRegex != "" {
		if f.respRegex, err = regexp.Compile(c.AuthResponseHeadersRegex); err != nil {
			return nil, fmt.Errorf("forwardAuth.authResponseHeadersRegex: %w", err)
		}
	}
	for _, h := range c.AuthRequestHeaders {
		f.requestHeaders = append(f.requestHeaders, http.CanonicalHeaderKey(h))
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLS != nil {
		if err := clientTLS(c.TLS, tlsConf); err != nil {
			return nil, fmt.Errorf("forwardAuth.tls: %w", err)
		}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	f.client = &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSClientConfig:       tlsConf,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		},
		// A redirect from the auth server (to a login page) is for the client.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, next) })
	}, nil
}

// clientTLS fills conf from c; file errors name the option.
func clientTLS(c *config.ClientTLS, conf *tls.Config) error {
	conf.InsecureSkipVerify = c.InsecureSkipVerify //nolint:gosec // the user asked for it
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca: no certificate in %s", c.CA)
		}
		conf.RootCAs = pool
	}
	if c.Cert != "" || c.Key != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return fmt.Errorf("cert: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return nil
}

func (f *forwardAuth) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	method, body, ok := f.body.request(w, r)
	if !ok {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), method, f.address, body)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	f.copyRequestHeaders(req.Header, r)
	resp, err := f.client.Do(req)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		f.log.Warn("forward auth: request failed", zap.String("address", f.address), zap.Error(err))
		http.Error(w, "Bad Gateway", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		h := w.Header()
		for k, v := range resp.Header {
			h[k] = v
		}
		deleteHopHeaders(h)
		f.body.deny(w, resp)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAuthBody))
	for _, k := range f.respHeaders {
		if v, ok := resp.Header[k]; ok {
			r.Header[k] = v
		} else {
			delete(r.Header, k)
		}
	}
	if f.respRegex != nil {
		for k, v := range resp.Header {
			if f.respRegex.MatchString(k) {
				r.Header[k] = v
			}
		}
	}
	next.ServeHTTP(w, r)
}

// copyRequestHeaders fills the auth request's headers from the client's
// request: all of them but hop-by-hop ones (or only authRequestHeaders),
// then the X-Forwarded-* headers describing the original request.
func (f *forwardAuth) copyRequestHeaders(dst http.Header, r *http.Request) {
	if f.requestHeaders != nil {
		for _, k := range f.requestHeaders {
			if v, ok := r.Header[k]; ok {
				dst[k] = v
			}
		}
	} else {
		for k, v := range r.Header {
			dst[k] = v
		}
		deleteHopHeaders(dst)
		delete(dst, "Content-Length")
	}
	if !f.trust {
		deleteForwardHeaders(dst)
	}
	setDefault := func(k, v string) {
		if prior, ok := r.Header[k]; ok && f.trust {
			dst[k] = prior
		} else {
			dst[k] = []string{v}
		}
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	setDefault("X-Forwarded-Method", r.Method)
	setDefault("X-Forwarded-Proto", proto)
	setDefault("X-Forwarded-Host", r.Host)
	setDefault("X-Forwarded-Uri", r.URL.RequestURI())
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header["X-Forwarded-For"]; f.trust && len(prior) > 0 {
			dst["X-Forwarded-For"] = []string{joinComma(prior) + ", " + ip}
		} else {
			dst["X-Forwarded-For"] = []string{ip}
		}
	}
}

func joinComma(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	out := vs[0]
	for _, v := range vs[1:] {
		out += ", " + v
	}
	return out
}
