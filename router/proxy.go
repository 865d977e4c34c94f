package router

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/fault"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/tcp"
	"github.com/ferryproxy/ferry/router/tracing"
	"github.com/ferryproxy/ferry/router/traffic"
)

// Transports holds the upstream transports shared by every service and kept
// across configuration swaps, so connection pools survive rebuilds.
type Transports struct {
	// HTTP serves http:// and https:// servers (HTTP/1.1, HTTP/2 over TLS).
	HTTP *http.Transport
	// H2C serves h2c:// servers: HTTP/2 over cleartext with prior knowledge.
	H2C *http.Transport
	// Buffers is the copy buffer pool shared by all proxies.
	Buffers httputil.BufferPool
	// Tracer, when not nil, traces every attempt to reach a server.
	Tracer *tracing.Tracer
	// TCP is how TCP services that name no servers transport reach their
	// servers (static tcpServersTransport); nil: plain TCP, default timeouts.
	TCP *tcp.Transport
	// h1 sends body-less requests to http:// servers on the handler's
	// goroutine, HTTP otherwise (h1client.go); nil: HTTP for all.
	h1 *h1Client
	// probes carries the health checks of the services using these
	// transports; nil for the default ones, which the registry uses itself.
	probes *health.Transport
}

// attemptTransport starts a CLIENT span per round trip to one server.
type attemptTransport struct {
	next   http.RoundTripper
	tracer *tracing.Tracer
	server string
}

func (t *attemptTransport) RoundTrip(out *http.Request) (*http.Response, error) {
	a := t.tracer.StartAttempt(out, t.server, out.Header)
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		a.End(0, err)
		return resp, err
	}
	a.CaptureResponseHeaders(resp.Header)
	a.End(resp.StatusCode, nil)
	return resp, nil
}

// NewTransports returns keep-alive transports tuned for a proxy: many idle
// connections per host, bounded dial and handshake times, no overall
// response timeout (long polls and streams are legitimate), and no
// transparent compression: requests and responses pass as the client and
// server wrote them.
// Servers transports (transports.go) tune them per service.
func NewTransports() *Transports {
	t, err := NewDefaultTransports(nil, nil)
	if err != nil { // nothing to read: cannot happen
		panic(err)
	}
	return t
}

// errClientResets refuses a dial for a client that cancels most of its
// streams (see fault.Conn): the client's fault, never the server's.
var errClientResets = &fault.Error{Kind: fault.ClientGone,
	Err: errors.New("not dialled: the client cancels most of its HTTP/2 streams")}

// Close drops idle upstream connections.
func (t *Transports) Close() {
	if t.h1 != nil {
		t.h1.CloseIdleConnections()
	}
	t.HTTP.CloseIdleConnections()
	t.H2C.CloseIdleConnections()
}

// copyBufferSize is the size of the buffers copying bodies.
const copyBufferSize = 32 << 10

// bufferPool pools body copy buffers as array pointers, which go in and
// out of the pool without an allocation (a slice header would escape).
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[copyBufferSize]byte)[:] }

// Put takes back a buffer from Get; any other is left to the collector.
func (p *bufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		p.pool.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}

// newServerProxy returns a reverse proxy to one upstream server.
func newServerProxy(target *url.URL, passHost bool, flush time.Duration, tr *Transports, log *zap.Logger) *serverProxy {
	serverURL := target.String()
	var transport http.RoundTripper = tr.HTTP
	p := &serverProxy{passHost: passHost, buffers: tr.Buffers}
	if target.Scheme == "http" && tr.h1 != nil {
		transport = tr.h1
		// forward.go writes what ReverseProxy would for a target without
		// path or query, flushing as ReverseProxy does by default; the
		// tracer's spans wrap ReverseProxy's round trips.
		if target.Path == "" && target.RawPath == "" && target.RawQuery == "" && !target.ForceQuery &&
			flush == 0 && tr.Tracer == nil && tr.Buffers != nil {
			p.direct, p.host, p.addr = tr.h1, target.Host, target.Host
			if target.Port() == "" {
				p.addr = net.JoinHostPort(target.Hostname(), "80")
			}
		}
	}
	if target.Scheme == "h2c" {
		t := *target
		t.Scheme = "http"
		target = &t
		transport = tr.H2C
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if passHost {
				pr.Out.Host = pr.In.Host
			}
			setForwarded(pr)
		},
		Transport:     tracedTransport(transport, tr.Tracer, serverURL),
		FlushInterval: flush,
		BufferPool:    tr.Buffers,
		ErrorLog:      zap.NewStdLog(log),
		ErrorHandler:  proxyError,
	}
	return p
}

// setForwarded sets the X-Forwarded-* and X-Real-Ip headers of a proxied
// request. The entry point has removed those of untrusted clients, so the
// ones left came from a trusted proxy: its X-Forwarded-For is appended to
// and its other values are passed on.
func setForwarded(pr *httputil.ProxyRequest) {
	in, h := pr.In.Header, pr.Out.Header
	if prior, ok := in["X-Forwarded-For"]; ok {
		h["X-Forwarded-For"] = append([]string(nil), prior...) // SetXForwarded appends the client
	}
	pr.SetXForwarded()
	for _, k := range [...]string{"X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"} {
		if v, ok := in[k]; ok {
			h[k] = v
		}
	}
	if v, ok := in["X-Forwarded-Port"]; ok {
		h["X-Forwarded-Port"] = v
	} else {
		h["X-Forwarded-Port"] = []string{forwardedPort(pr.In)}
	}
	if v, ok := in["X-Real-Ip"]; ok {
		h["X-Real-Ip"] = v
	} else if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h["X-Real-Ip"] = []string{ip}
	}
}

// forwardedPort is the port the client asked for: from the Host header,
// else the port of the connection, else the scheme's default.
func forwardedPort(r *http.Request) string {
	port, n := forwardedPortOf(r)
	if port == "" {
		port = strconv.Itoa(n)
	}
	return port
}

// forwardedPortOf is forwardedPort as a string when it is one already, or
// else as a number.
func forwardedPortOf(r *http.Request) (string, int) {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[i+1:], 0
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return "", addr.Port
	}
	if r.TLS != nil {
		return "443", 0
	}
	return "80", 0
}

// proxyError answers a failed proxy attempt: 502 or 504 when the server
// failed, 400, 408, 413 or 499 (nothing sent) when the client did. It
// passes the classified error on first (to the recorder, or a retry or
// circuit breaker in between) so that a client's fault is never counted
// against the server.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	fe := fault.Wrap(r, err)
	traffic.SetProxyError(w, fe)
	status := fe.Kind.Status()
	if fe.Kind.Client() {
		// The request's framing or connection is broken: do not reuse it.
		w.Header()["Connection"] = []string{"close"}
	}
	w.WriteHeader(status)
	if status != fault.StatusClientClosedRequest {
		_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
	}
}

func tracedTransport(next http.RoundTripper, t *tracing.Tracer, server string) http.RoundTripper {
	if t == nil {
		return next
	}
	return &attemptTransport{next: next, tracer: t, server: server}
}
