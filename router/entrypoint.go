package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/ferryproxy/ferry/router/tcp"
)

// tlsRecordHandshake is the first byte of every TLS connection.
const tlsRecordHandshake = 0x16

// ListenerOptions configure an entry point's listener.
type ListenerOptions struct {
	// Name is the entry point's name.
	Name string
	// Address is the host:port to listen on.
	Address string
	// GraceTimeout bounds how long in-flight requests may finish on shutdown.
	GraceTimeout time.Duration
	// PeekTimeout bounds the wait for a new connection's first byte.
	PeekTimeout time.Duration
	// ReadHeaderTimeout bounds the time to read request headers.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections, and TCP connections
	// on which nothing moved for this long.
	IdleTimeout time.Duration
	// TCPRoutes, when set, gives the entry point's current TCP routes.
	TCPRoutes func() *tcp.Routes
	// ProxyProtocolTrustedIPs are the peers whose PROXY protocol headers are
	// accepted; a header from any other peer is refused. Empty: off.
	ProxyProtocolTrustedIPs []netip.Prefix
}

// Listener is an entry point: one TCP listener that serves plain HTTP
// (HTTP/1.1 and h2c) and TLS (HTTP/2 and HTTP/1.1) on the same port, telling
// them apart by the first byte a client sends.
type Listener struct {
	opts   ListenerOptions
	log    *zap.Logger
	ln     net.Listener
	plain  *http.Server
	secure *http.Server

	tcpConns connSet // connections forwarded by TCP routes
}

// Listen binds the entry point's address. plain and secure handle the two
// kinds of connection; getCert chooses TLS certificates.
func Listen(log *zap.Logger, opts ListenerOptions, plain, secure http.Handler, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (*Listener, error) {
	if opts.PeekTimeout == 0 {
		opts.PeekTimeout = 10 * time.Second
	}
	if opts.ReadHeaderTimeout == 0 {
		opts.ReadHeaderTimeout = 30 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 180 * time.Second
	}
	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("router: entry point %s: listen on %s: %w", opts.Name, opts.Address, err)
	}
	errLog := zap.NewStdLog(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel)))
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	l := &Listener{opts: opts, log: log, ln: ln}
	l.plain = &http.Server{Handler: plain, Protocols: protos, ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout: opts.IdleTimeout, ErrorLog: errLog}
	l.secure = &http.Server{Handler: secure, ReadHeaderTimeout: opts.ReadHeaderTimeout, IdleTimeout: opts.IdleTimeout,
		ErrorLog: errLog, TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: getCert,
			// acme-tls/1 is offered only by ACME CAs validating TLS-ALPN-01.
			NextProtos: []string{"h2", "http/1.1", "acme-tls/1"},
		}}
	return l, nil
}

// Addr is the address the entry point listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until ctx ends, then stops accepting, lets
// in-flight requests finish within the grace timeout, and returns.
func (l *Listener) Serve(ctx context.Context) error {
	plainL := newChanListener(l.ln.Addr())
	secureL := newChanListener(l.ln.Addr())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreClosed(l.plain.Serve(plainL)) })
	g.Go(func() error { return ignoreClosed(l.secure.ServeTLS(secureL, "", "")) })
	g.Go(func() error { return l.accept(gctx, plainL, secureL) })
	g.Go(func() error {
		<-gctx.Done()
		_ = l.ln.Close()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.GraceTimeout)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { l.tcpConns.drain(shutdownCtx) })
		for _, srv := range []*http.Server{l.plain, l.secure} {
			wg.Go(func() {
				if err := srv.Shutdown(shutdownCtx); err != nil {
					l.log.Warn("grace period over, closing remaining connections", zap.String("entryPoint", l.opts.Name), zap.Error(err))
					_ = srv.Close()
				}
			})
		}
		wg.Wait()
		return nil
	})
	return g.Wait()
}

func (l *Listener) accept(ctx context.Context, plainL, secureL *chanListener) error {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed", zap.String("entryPoint", l.opts.Name), zap.Error(err), zap.Duration("retryIn", delay))
			select {
			case <-time.After(delay):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		delay = 0
		go l.dispatch(c, plainL, secureL)
	}
}

// dispatch reads a connection's first byte and hands the connection to the
// TLS or the plain server.
func (l *Listener) dispatch(c net.Conn, plainL, secureL *chanListener) {
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
	pc := net.Conn(&peekedConn{Conn: c, first: first[0], pending: true})
	if pc = l.routeTCP(pc, first[0] == tlsRecordHandshake); pc == nil {
		return // a TCP router took the connection
	}
	if first[0] == tlsRecordHandshake {
		secureL.push(pc)
	} else {
		plainL.push(pc)
	}
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// peekedConn replays the byte read by dispatch.
type peekedConn struct {
	net.Conn
	first   byte
	pending bool
}

func (c *peekedConn) Read(b []byte) (int, error) {
	if c.pending && len(b) > 0 {
		c.pending = false
		b[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(b)
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
