// Package entrypoint is Ferry's entry points: the listeners that accept
// connections, tell TLS from plain text and TCP routes from HTTP, perform
// the TLS handshake, and serve HTTP/1.1, HTTP/2 and h2c with a deadline on
// every phase of a connection and a limit on every buffer a client fills.
package entrypoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"

	"github.com/ferryproxy/ferry/router/tcp"
)

// tlsRecordHandshake is the first byte of every TLS connection.
const tlsRecordHandshake = 0x16

// Defaults of Options.
const (
	DefaultPeekTimeout          = 10 * time.Second
	DefaultReadHeaderTimeout    = 30 * time.Second
	DefaultReadTimeout          = 60 * time.Second
	DefaultIdleTimeout          = 180 * time.Second
	DefaultMaxHeaderBytes       = 32 << 10
	DefaultMaxURLLength         = 8 << 10
	DefaultMaxConcurrentStreams = 250
)

// Options configure an entry point's listener. Zero values take the
// defaults above.
type Options struct {
	// Name is the entry point's name.
	Name string
	// Address is the host:port to listen on.
	Address string
	// GraceTimeout bounds how long in-flight requests may finish on shutdown.
	GraceTimeout time.Duration
	// PeekTimeout bounds the wait for a new connection's first byte.
	PeekTimeout time.Duration
	// ReadHeaderTimeout bounds the TLS handshake and the time to read a
	// request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout ends a request whose body makes no progress for this
	// long (408 when nothing was sent yet); negative: no limit.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its response; 0: no limit.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle for this long, and
	// tunnels (WebSockets, TCP routes) on which nothing moved for this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (431 beyond).
	MaxHeaderBytes int
	// MaxURLLength bounds a request's target (414 beyond).
	MaxURLLength int
	// MaxConcurrentStreams bounds the HTTP/2 streams of one connection.
	MaxConcurrentStreams int
	// MaxConnections bounds the connections served at once; further ones
	// wait in the kernel's accept queue. 0: no limit.
	MaxConnections int
	// AllowedUpgrades are the protocols a request may upgrade to
	// (default: websocket). Any other Upgrade header is removed, so that
	// no upgrade (h2c in particular) can open a tunnel past routing.
	AllowedUpgrades []string
	// HTTPConnections and TCPConnections, when set, count the open
	// connections served by HTTP and by TCP routes.
	HTTPConnections, TCPConnections Gauge
	// TCPRoutes, when set, gives the entry point's current TCP routes.
	TCPRoutes func() *tcp.Routes
	// HTTP3, when set, also serves HTTP/3 on the port's UDP side (http3.go).
	HTTP3 *HTTP3Options
	// ProxyProtocolTrustedIPs are the peers whose PROXY protocol headers are
	// accepted; a header from any other peer is refused. Empty: off.
	ProxyProtocolTrustedIPs []netip.Prefix
	// TLSConfigForClient, when set, picks the TLS configuration of each
	// handshake (the TLS options of its server name); nil: one for all.
	TLSConfigForClient ConfigFunc
	// ForwardedTrustedIPs are the peers whose X-Forwarded-*, X-Real-Ip and
	// Forwarded headers are kept; anyone else's are removed before routing.
	// ForwardedInsecure keeps everyone's.
	ForwardedTrustedIPs []netip.Prefix
	ForwardedInsecure   bool
}

// DefaultAllowedUpgrades are the protocols requests may upgrade to by
// default: WebSocket.
func DefaultAllowedUpgrades() []string { return []string{"websocket"} }

func (o *Options) defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.PeekTimeout, DefaultPeekTimeout)
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxURLLength <= 0 {
		o.MaxURLLength = DefaultMaxURLLength
	}
	if o.MaxConcurrentStreams <= 0 {
		o.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if o.AllowedUpgrades == nil {
		o.AllowedUpgrades = DefaultAllowedUpgrades()
	}
}

// Listener is an entry point: one TCP listener that serves plain HTTP
// (HTTP/1.1 and h2c), TLS (HTTP/2 and HTTP/1.1) and TCP routes on the same
// port, telling them apart by the first bytes a client sends.
type Listener struct {
	opts      Options
	log       *zap.Logger
	ln        net.Listener
	tlsConfig *tls.Config
	slots     chan struct{} // one per connection served; nil without a limit

	plain, secure http.Handler
	h1            *h1Server    // HTTP/1 (plain and over TLS)
	h2c           *http.Server // h2c (HTTP/2 with prior knowledge on plain connections)
	http2         *http.Server // HTTP/2 over TLS

	tcpConns connSet   // connections forwarded by TCP routes
	h3       *h3Server // HTTP/3 over QUIC; nil when off (http3.go)
}

// Listen binds the entry point's address. plain and secure handle the two
// kinds of connection; getCert chooses TLS certificates.
func Listen(log *zap.Logger, opts Options, plain, secure http.Handler, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (*Listener, error) {
	opts.defaults()
	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %s: listen on %s: %w", opts.Name, opts.Address, err)
	}
	l := &Listener{opts: opts, log: log, ln: ln, plain: plain, secure: secure}
	if opts.MaxConnections > 0 {
		l.slots = make(chan struct{}, opts.MaxConnections)
	}
	l.tlsConfig = ServerTLSConfig(getCert, opts.TLSConfigForClient)       // tlsconfig.go
	l.h1 = newH1Server(&l.opts, log, http.HandlerFunc(l.serveHTTP1), nil) // h1server.go
	errLog := serverErrorLog(log)
	h2 := &http.HTTP2Config{MaxConcurrentStreams: opts.MaxConcurrentStreams}
	p1 := new(http.Protocols)
	p1.SetHTTP1(true)
	p1.SetUnencryptedHTTP2(true)
	l.h2c = &http.Server{Handler: http.HandlerFunc(l.serveHTTP1), Protocols: p1, HTTP2: h2,
		ReadHeaderTimeout: opts.ReadHeaderTimeout, WriteTimeout: opts.WriteTimeout, IdleTimeout: opts.IdleTimeout,
		MaxHeaderBytes: opts.MaxHeaderBytes, ErrorLog: errLog, ConnContext: withConn, ConnState: l.connState}
	p2 := new(http.Protocols)
	p2.SetHTTP2(true)
	l.http2 = &http.Server{Handler: http.HandlerFunc(l.serveHTTP2), Protocols: p2, HTTP2: h2,
		ReadHeaderTimeout: opts.ReadHeaderTimeout, WriteTimeout: opts.WriteTimeout, IdleTimeout: opts.IdleTimeout,
		MaxHeaderBytes: opts.MaxHeaderBytes, ErrorLog: errLog, ConnContext: withH2Conn,
		// Connections arrive with their handshake done; the server only
		// needs to know that h2 is spoken over them.
		TLSConfig: &tls.Config{NextProtos: []string{"h2"}}}
	if err := l.listenHTTP3(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return l, nil
}

// serverErrorLog is where net/http reports what it cannot hand to a
// handler: at warn level, except what a client's malformed or abandoned
// HTTP/2 connection causes, at debug level (any client could otherwise
// fill the log at will).
func serverErrorLog(zl *zap.Logger) *log.Logger {
	return log.New(serverLogWriter{zl}, "", 0)
}

// serverLogWriter writes net/http's server log lines to a zap logger.
type serverLogWriter struct{ log *zap.Logger }

// clientCausedPrefixes start the lines of net/http's HTTP/2 server that
// report a client's fault.
var clientCausedPrefixes = [...]string{
	"http2: server connection error from ",
	"http2: server: error reading preface from client ",
	"http2: server rejecting conn: ",
}

func (w serverLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	level := zapcore.WarnLevel
	for _, prefix := range clientCausedPrefixes {
		if strings.HasPrefix(msg, prefix) {
			level = zapcore.DebugLevel
		}
	}
	if ce := w.log.Check(level, msg); ce != nil {
		ce.Write()
	}
	return len(p), nil
}

// Addr is the address the entry point listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until ctx ends, then stops accepting, lets
// in-flight requests finish within the grace timeout, and returns.
func (l *Listener) Serve(ctx context.Context) error {
	h2cL := newChanListener(l.ln.Addr())
	h2L := newChanListener(l.ln.Addr())
	l.h1.h2c = h2cL
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreClosed(l.h2c.Serve(h2cL)) })
	g.Go(func() error { return ignoreClosed(l.http2.Serve(h2L)) })
	g.Go(func() error { return l.accept(gctx, h2L) })
	g.Go(func() error { return l.serveHTTP3Until(gctx, ctx) })
	g.Go(func() error {
		<-gctx.Done()
		_ = l.ln.Close()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.GraceTimeout)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { l.tcpConns.drain(shutdownCtx) })
		wg.Go(func() {
			if err := l.h1.Shutdown(shutdownCtx); err != nil {
				l.log.Warn("grace period over, closing remaining connections", zap.Error(err))
				l.h1.Close()
			}
		})
		for _, srv := range []*http.Server{l.h2c, l.http2} {
			wg.Go(func() {
				if err := srv.Shutdown(shutdownCtx); err != nil {
					l.log.Warn("grace period over, closing remaining connections", zap.Error(err))
					_ = srv.Close()
				}
			})
		}
		wg.Wait()
		return nil
	})
	return g.Wait()
}

func (l *Listener) accept(ctx context.Context, h2L *chanListener) error {
	var delay time.Duration
	for {
		if l.slots != nil {
			select { // at the limit, new connections wait in the accept queue
			case l.slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		c, err := l.ln.Accept()
		if err != nil {
			if l.slots != nil {
				<-l.slots
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed", zap.Error(err), zap.Duration("retryIn", delay))
			select {
			case <-time.After(delay):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		delay = 0
		cc := &clientConn{Conn: c}
		if l.slots != nil {
			cc.release = func() { <-l.slots }
		}
		cc.recount(l.opts.HTTPConnections)
		go l.dispatch(cc, h2L)
	}
}

// dispatch reads a connection's first byte and hands the connection to a
// TCP route, or after the TLS handshake if it starts one, to the HTTP/2
// server, or serves it as HTTP/1 on this goroutine.
func (l *Listener) dispatch(c net.Conn, h2L *chanListener) {
	if c = l.beforePeek(c); c == nil {
		return
	}
	var first [1]byte
	_ = c.SetReadDeadline(time.Now().Add(l.opts.PeekTimeout))
	if _, err := io.ReadFull(c, first[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	isTLS := first[0] == tlsRecordHandshake
	if c = l.routeTCP(tcp.NewPrefixConn(c, first[:], nil), isTLS); c == nil {
		return // a TCP router took the connection
	}
	if !isTLS {
		l.h1.serveConn(&httpConn{Conn: c})
		return
	}
	tc := tls.Server(c, l.tlsConfig)
	_ = c.SetDeadline(time.Now().Add(l.opts.ReadHeaderTimeout))
	if err := tc.Handshake(); err != nil {
		if ce := l.log.Check(zapcore.DebugLevel, "TLS handshake failed"); ce != nil {
			ce.Write(zap.Stringer("client", c.RemoteAddr()), zap.Error(err))
		}
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	state := tc.ConnectionState()
	switch state.NegotiatedProtocol {
	case "h2":
		h2L.push(tc)
	case acmeALPN:
		_ = tc.Close() // the handshake was the validation
	default:
		l.h1.serveConn(&httpConn{Conn: tc, tls: &state})
	}
}

// connState switches a hijacked connection (an upgrade) to tunnel mode.
func (l *Listener) connState(c net.Conn, s http.ConnState) {
	if s != http.StateHijacked {
		return
	}
	if cc := innermost(c); cc != nil {
		cc.startTunnel(l.opts.IdleTimeout)
	}
}

// innermost returns the clientConn under c's wrappers, or nil.
func innermost(c net.Conn) *clientConn {
	for range 8 {
		switch v := c.(type) {
		case *clientConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// chanListener is a net.Listener fed by dispatch.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
