package router

import (
	"context"
	"crypto/tls"
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

	"github.com/ferryproxy/ferry/router/traffic"
)

// StatusClientClosedRequest is logged when the client went away before the
// server answered (nginx's 499).
const StatusClientClosedRequest = 499

// Transports holds the upstream transports shared by every service and kept
// across configuration swaps, so connection pools survive rebuilds.
type Transports struct {
	// HTTP serves http:// and https:// servers (HTTP/1.1, HTTP/2 over TLS).
	HTTP *http.Transport
	// H2C serves h2c:// servers: HTTP/2 over cleartext with prior knowledge.
	H2C *http.Transport
	// Buffers is the copy buffer pool shared by all proxies.
	Buffers httputil.BufferPool
}

// NewTransports returns keep-alive transports tuned for a proxy: many idle
// connections per host, bounded dial and handshake times, no overall
// response timeout (long polls and streams are legitimate), and no
// transparent compression: requests and responses pass as the client and
// server wrote them.
func NewTransports() *Transports {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	base := func() *http.Transport {
		return &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			MaxIdleConns:          0,
			MaxIdleConnsPerHost:   512,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			DisableCompression:    true,
		}
	}
	h1 := base()
	h1.ForceAttemptHTTP2 = true
	h2c := base()
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	return &Transports{HTTP: h1, H2C: h2c, Buffers: newBufferPool(32 * 1024)}
}

// Close drops idle upstream connections.
func (t *Transports) Close() {
	t.HTTP.CloseIdleConnections()
	t.H2C.CloseIdleConnections()
}

type bufferPool struct{ pool sync.Pool }

func newBufferPool(size int) *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (p *bufferPool) Get() []byte  { return *(p.pool.Get().(*[]byte)) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// newServerProxy returns a reverse proxy to one upstream server.
func newServerProxy(target *url.URL, passHost bool, flush time.Duration, tr *Transports, log *zap.Logger) *httputil.ReverseProxy {
	transport := tr.HTTP
	if target.Scheme == "h2c" {
		t := *target
		t.Scheme = "http"
		target = &t
		transport = tr.H2C
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if passHost {
				pr.Out.Host = pr.In.Host
			}
			pr.SetXForwarded()
			h := pr.Out.Header
			h["X-Forwarded-Port"] = []string{forwardedPort(pr.In)}
			if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
				h["X-Real-Ip"] = []string{ip}
			}
		},
		Transport:     transport,
		FlushInterval: flush,
		BufferPool:    tr.Buffers,
		ErrorLog:      zap.NewStdLog(log),
		ErrorHandler:  proxyError,
	}
}

// forwardedPort is the port the client asked for: from the Host header,
// else the port of the connection, else the scheme's default.
func forwardedPort(r *http.Request) string {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[i+1:]
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return strconv.Itoa(addr.Port)
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// proxyError answers 502 (or 499 when the client left) and records the
// cause on the recorder so the router can log it with its names.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		status = StatusClientClosedRequest
	} else if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	traffic.SetProxyError(w, err) // the recorder, or a retry or circuit breaker in between
	w.WriteHeader(status)
	if status != StatusClientClosedRequest {
		_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
	}
}
