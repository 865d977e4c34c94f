package entrypoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/fault"
)

// HTTP3Options turn on HTTP/3 on an entry point: QUIC on the UDP port of
// the same number, serving the secure handler, with the entry point's TLS
// configuration, certificates and per-request limits.
type HTTP3Options struct {
	// AdvertisedPort is the port announced in Alt-Svc; 0: the entry
	// point's own.
	AdvertisedPort int
	// Connections, when set, counts the open QUIC connections (from the
	// first packet of their handshake to their close).
	Connections Gauge
}

const (
	// quicBufferSize is the UDP socket buffer size quic-go recommends
	// (https://github.com/quic-go/quic-go/wiki/UDP-Buffer-Sizes).
	quicBufferSize = 7 << 20
	// altSvcMaxAge is how long clients may remember the Alt-Svc
	// announcement, in seconds: 30 days, as quic-go, Traefik and Caddy.
	altSvcMaxAge = 30 * 24 * 60 * 60
	// maxQUICHandshakeIdle bounds the silence during a QUIC handshake
	// (quic-go's default); the handshake as a whole takes at most twice it.
	maxQUICHandshakeIdle = 5 * time.Second
)

// errTooManyConnections refuses a QUIC connection beyond maxConnections
// (QUIC connections count on their own): QUIC has no accept queue to wait
// in; the client falls back to TCP.
var errTooManyConnections = errors.New("entrypoint: too many connections")

// errShuttingDown refuses QUIC connections once shutdown began, at once
// (CONNECTION_REFUSED), so that clients turn elsewhere without waiting.
var errShuttingDown = errors.New("entrypoint: shutting down")

// h3Server is an entry point's HTTP/3 side.
type h3Server struct {
	udp     *net.UDPConn
	tr      *quic.Transport
	ln      *quic.Listener
	srv     *http3.Server
	handler http.Handler // the secure handler, without Alt-Svc
	gauge   Gauge
	slots   chan struct{} // one per QUIC connection; nil without a limit
	closing atomic.Bool   // shutdown began: new connections are refused
}

// h3Conn is an HTTP/3 connection as its requests see it (fault.Conn).
type h3Conn struct {
	conn    *quic.Conn
	streams streamRecord
}

var _ fault.Conn = (*h3Conn)(nil)

// ResetsStreams reports whether the client cancels most of its streams.
func (c *h3Conn) ResetsStreams() bool { return c.streams.resetting() }

// quicTLSConfig is the TLS configuration of QUIC handshakes: the entry
// point's own, so that certificates (and a per-SNI configuration, through
// GetConfigForClient, which http3.ConfigureTLSConfig keeps) are chosen as
// for TLS over TCP. This is the one place to switch.
func (l *Listener) quicTLSConfig() *tls.Config {
	return http3.ConfigureTLSConfig(l.tlsConfig) // ALPN h3 only; QUIC implies TLS 1.3
}

// listenHTTP3 binds the UDP side of the entry point when HTTP/3 is on: the
// TCP listener's address and port, UDP. From then on the secure handler
// of TCP connections announces it in Alt-Svc.
func (l *Listener) listenHTTP3() error {
	o := l.opts.HTTP3
	if o == nil {
		return nil
	}
	ta, ok := l.ln.Addr().(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("entrypoint %s: http3: %s is not a TCP address", l.opts.Name, l.ln.Addr())
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone})
	if err != nil {
		return fmt.Errorf("entrypoint %s: http3: listen on %s/udp: %w", l.opts.Name, ta, err)
	}
	if limited := sizeUDPBuffers(udp, quicBufferSize, true); len(limited) > 0 {
		l.log.Warn("HTTP/3: the kernel keeps the UDP buffers below the 7 MiB quic-go recommends, which may slow large transfers; "+
			"raise the limit with sysctl -w net.core.rmem_max=7340032 net.core.wmem_max=7340032",
			zap.Strings("limitedBy", limited))
		// Said once here, with its remedy: quic-go need not say it again on the standard logger.
		_ = os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	}
	h := &h3Server{udp: udp, handler: l.secure, gauge: o.Connections}
	if l.opts.MaxConnections > 0 {
		// A budget of its own: TCP's accept loop holds a slot while it
		// waits, so a shared one would starve QUIC on an idle entry point.
		h.slots = make(chan struct{}, l.opts.MaxConnections)
	}
	h.tr = &quic.Transport{Conn: udp, ConnContext: h.connContext}
	qc := &quic.Config{
		HandshakeIdleTimeout: min(maxQUICHandshakeIdle, l.opts.ReadHeaderTimeout/2),
		MaxIdleTimeout:       l.opts.IdleTimeout,
		MaxIncomingStreams:   int64(l.opts.MaxConcurrentStreams),
		// No 0-RTT: early data can be replayed, and the routers' servers
		// cannot tell a replayed POST from a new one.
		Allow0RTT: false,
	}
	if h.ln, err = h.tr.Listen(l.quicTLSConfig(), qc); err != nil {
		_ = udp.Close()
		return fmt.Errorf("entrypoint %s: http3: %w", l.opts.Name, err)
	}
	h.srv = &http3.Server{
		Handler:        http.HandlerFunc(l.serveHTTP3),
		MaxHeaderBytes: l.opts.MaxHeaderBytes,
		IdleTimeout:    l.opts.IdleTimeout,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			return context.WithValue(ctx, fault.ConnKey{}, &h3Conn{conn: c})
		},
		Logger: slog.New(zapHandler{log: l.log.Named("http3")}),
	}
	port := o.AdvertisedPort
	if port == 0 {
		port = ta.Port
	}
	l.h3 = h
	l.secure = altSvc{next: l.secure, value: []string{`h3=":` + strconv.Itoa(port) + `"; ma=` + strconv.Itoa(altSvcMaxAge)}}
	return nil
}

// connContext admits a QUIC connection at its first packet: it takes one of
// the maxConnections slots of QUIC connections (refusing the connection
// when none is free) and counts it until it closes.
func (h *h3Server) connContext(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
	if h.closing.Load() {
		return ctx, errShuttingDown
	}
	if h.slots != nil {
		select {
		case h.slots <- struct{}{}:
		default:
			return ctx, errTooManyConnections
		}
	}
	if h.gauge != nil {
		h.gauge.Inc()
	}
	context.AfterFunc(ctx, func() {
		if h.gauge != nil {
			h.gauge.Dec()
		}
		if h.slots != nil {
			<-h.slots
		}
	})
	return ctx, nil
}

// serveHTTP3Until serves HTTP/3 until ctx ends, then refuses new
// connections, sends GOAWAY on the open ones and lets their requests finish
// within the grace timeout (counted from base's end being ctx's), and
// returns once the UDP socket is closed.
func (l *Listener) serveHTTP3Until(ctx, base context.Context) error {
	h := l.h3
	if h == nil {
		return nil
	}
	served := make(chan error, 1)
	go func() { served <- h.srv.ServeListener(h.ln) }()
	var err error
	returned := false
	select {
	case err = <-served: // failed: Serve's other parts stop too
		returned = true
	case <-ctx.Done():
	}
	h.closing.Store(true) // new connections are refused; open ones go on
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(base), l.opts.GraceTimeout)
	defer cancel()
	if serr := h.srv.Shutdown(shutdownCtx); serr != nil {
		l.log.Warn("grace period over, closing remaining HTTP/3 connections", zap.Error(serr))
	}
	if !returned {
		err = <-served
	}
	_ = h.ln.Close()
	_ = h.tr.Close()
	_ = h.udp.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, quic.ErrServerClosed) {
		return fmt.Errorf("entrypoint %s: http3: %w", l.opts.Name, err)
	}
	return nil
}

// serveHTTP3 serves an HTTP/3 request: the entry point's guard (target
// length, upgrades, body deadline) and write deadline, then the secure
// handler, and the client's record of cancelled streams.
func (l *Listener) serveHTTP3(w http.ResponseWriter, r *http.Request) {
	hw := &h3Writer{ResponseWriter: w}
	if l.opts.WriteTimeout > 0 {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(l.opts.WriteTimeout))
	}
	if r.Method == http.MethodConnect {
		// CONNECT, extended (RFC 9220 WebSockets) or not, opens a tunnel:
		// HTTP/3's Upgrade. Ferry has no tunnel over HTTP/3; clients use
		// HTTP/1.1 for WebSockets.
		refuse(hw, http.StatusNotImplemented, "CONNECT over HTTP/3")
	} else {
		l.guard(hw, r, l.h3.handler)
	}
	if hc, _ := r.Context().Value(fault.ConnKey{}).(*h3Conn); hc != nil {
		served, n, tooMany := hc.streams.done(r.Context().Err() != nil)
		if tooMany {
			l.log.Warn("closing an HTTP/3 connection whose client cancels most of its streams (rapid reset)",
				zap.Stringer("client", hc.conn.RemoteAddr()), zap.Int64("streams", served), zap.Int64("canceled", n))
			_ = hc.conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "too many cancelled streams")
		}
	}
}

// altSvc announces HTTP/3 on the answers of TLS connections over TCP.
type altSvc struct {
	next  http.Handler
	value []string
}

func (a altSvc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Alt-Svc"] = a.value
	a.next.ServeHTTP(w, r)
}

// h3Writer is an HTTP/3 response as handlers write it. It drops the header
// fields that are HTTP/1's connection management (Connection, Keep-Alive,
// Transfer-Encoding, Upgrade…) before the header goes out: they are
// malformed in HTTP/3 (RFC 9114 section 4.2) and clients reject a response
// that has them.
type h3Writer struct {
	http.ResponseWriter
}

// connectionHeaders are the fields RFC 9114 section 4.2 forbids.
var connectionHeaders = [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

func (w *h3Writer) clean() {
	h := w.ResponseWriter.Header()
	for _, k := range connectionHeaders {
		delete(h, k)
	}
}

func (w *h3Writer) WriteHeader(code int) {
	w.clean()
	w.ResponseWriter.WriteHeader(code)
}

func (w *h3Writer) Write(p []byte) (int, error) {
	w.clean()
	return w.ResponseWriter.Write(p)
}

// Flush sends what was written so far.
func (w *h3Writer) Flush() {
	w.clean()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the stream's deadlines.
func (w *h3Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// zapHandler hands quic-go's HTTP/3 log records of warn level and above to
// zap (a handler's panic, for one).
type zapHandler struct {
	log    *zap.Logger
	fields []zap.Field
}

func (h zapHandler) Enabled(_ context.Context, lv slog.Level) bool {
	return lv >= slog.LevelWarn && h.log.Core().Enabled(zapLevel(lv))
}

func (h zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := append(make([]zap.Field, 0, len(h.fields)+r.NumAttrs()), h.fields...)
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, zap.Any(a.Key, a.Value.Any()))
		return true
	})
	if ce := h.log.Check(zapLevel(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h zapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	fields := append([]zap.Field(nil), h.fields...)
	for _, a := range as {
		fields = append(fields, zap.Any(a.Key, a.Value.Any()))
	}
	return zapHandler{log: h.log, fields: fields}
}

func (h zapHandler) WithGroup(name string) slog.Handler {
	return zapHandler{log: h.log.Named(name), fields: h.fields}
}

func zapLevel(lv slog.Level) zapcore.Level {
	if lv >= slog.LevelError {
		return zapcore.ErrorLevel
	}
	return zapcore.WarnLevel
}
