package entrypoint

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/fault"
)

// withConn is the HTTP/1 server's ConnContext: it lets requests find their
// connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*httpConn); ok {
		return context.WithValue(ctx, fault.ConnKey{}, hc)
	}
	return ctx
}

// serveHTTP1 serves a request of the HTTP/1 server (HTTP/1.x over plain
// text or TLS, and h2c): it checks the request's framing, then guards it.
func (l *Listener) serveHTTP1(w http.ResponseWriter, r *http.Request) {
	next := l.plain
	if hc, _ := r.Context().Value(fault.ConnKey{}).(*httpConn); hc != nil && r.ProtoMajor == 1 {
		reject, closeAfter := hc.framing(len(r.TransferEncoding) > 0, r.Header["Content-Length"] != nil, r.ProtoMinor == 0)
		if reject {
			refuse(w, http.StatusBadRequest, "Transfer-Encoding is not allowed in HTTP/1.0")
			return
		}
		if closeAfter { // RFC 9112 section 6.1: Content-Length and Transfer-Encoding together
			w.Header()["Connection"] = []string{"close"}
		}
		if hc.tls != nil {
			r.TLS, next = hc.tls, l.secure
		}
	} else if hc != nil && r.ProtoMajor == 2 { // h2c
		l.guard(w, r, next)
		l.streamDone(&hc.streams, innermost(hc.Conn), r)
		return
	}
	l.guard(w, r, next)
}

// h2Conn is an HTTP/2-over-TLS connection as its streams see it.
type h2Conn struct {
	conn    *clientConn
	streams streamRecord
}

// streamRecord is an HTTP/2 connection's record of its streams, kept to
// spot a client that opens streams only to cancel them (rapid reset).
type streamRecord struct {
	served   atomic.Int64
	canceled atomic.Int64
	closed   atomic.Bool
}

// minCanceledToRefuseDials is how many cancelled streams, being more than
// half of a connection's, stop dials for it (fault.Conn).
const minCanceledToRefuseDials = 10

// resetting reports whether the client cancels most of its streams.
func (s *streamRecord) resetting() bool {
	n := s.canceled.Load()
	return n >= minCanceledToRefuseDials && 2*n > s.served.Load()
}

var (
	_ fault.Conn = (*h2Conn)(nil)
	_ fault.Conn = (*httpConn)(nil)
)

// ResetsStreams reports whether the client cancels most of its streams.
func (c *h2Conn) ResetsStreams() bool { return c.streams.resetting() }

// ResetsStreams reports whether the (h2c) client cancels most of its streams.
func (c *httpConn) ResetsStreams() bool { return c.streams.resetting() }

// withH2Conn is the HTTP/2 server's ConnContext.
func withH2Conn(ctx context.Context, c net.Conn) context.Context {
	if cc := innermost(c); cc != nil {
		return context.WithValue(ctx, fault.ConnKey{}, &h2Conn{conn: cc})
	}
	return ctx
}

// Rapid reset: a connection on which more than maxCanceledStreams streams,
// and more than half of all, were cancelled by the client while being
// served is closed. (net/http already bounds the streams being started.)
const maxCanceledStreams = 100

// serveHTTP2 serves a request of the HTTP/2-over-TLS server.
func (l *Listener) serveHTTP2(w http.ResponseWriter, r *http.Request) {
	l.guard(w, r, l.secure)
	if hc, _ := r.Context().Value(fault.ConnKey{}).(*h2Conn); hc != nil {
		l.streamDone(&hc.streams, hc.conn, r)
	}
}

// streamDone records a served HTTP/2 stream, and closes the connection
// once its client has cancelled too many of them.
func (l *Listener) streamDone(rec *streamRecord, conn *clientConn, r *http.Request) {
	served, n, tooMany := rec.done(r.Context().Err() != nil && conn != nil)
	if tooMany {
		l.log.Warn("closing an HTTP/2 connection whose client cancels most of its streams (rapid reset)",
			zap.Stringer("client", conn.RemoteAddr()), zap.Int64("streams", served), zap.Int64("canceled", n))
		_ = conn.Close()
	}
}

// done records a served stream, cancelled by its client or not. It returns
// the streams served and cancelled so far, and tooMany, once, when the
// client has cancelled too many: its connection must be closed. (HTTP/2 and
// HTTP/3 share it.)
func (s *streamRecord) done(canceled bool) (served, n int64, tooMany bool) {
	served = s.served.Add(1)
	if !canceled {
		return served, s.canceled.Load(), false
	}
	n = s.canceled.Add(1)
	return served, n, n > maxCanceledStreams && 2*n > served && s.closed.CompareAndSwap(false, true)
}

// guard applies the entry point's per-request limits, then hands the
// request to next: the target's length, the protocols it may upgrade to,
// and a deadline on every read of its body.
func (l *Listener) guard(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !l.opts.ForwardedInsecure && !l.trustsForwarded(r) {
		stripForwarded(r.Header)
	}
	if len(r.RequestURI) > l.opts.MaxURLLength {
		refuse(w, http.StatusRequestURITooLong, "")
		return
	}
	if up, ok := r.Header["Upgrade"]; ok && !l.upgradeAllowed(up) {
		// Never forward it: a 101 would open a tunnel past routing.
		delete(r.Header, "Upgrade")
		delete(r.Header, "Http2-Settings")
	}
	if r.ProtoMajor == 2 && r.ContentLength == 0 && r.Body != http.NoBody {
		// An HTTP/2 request declaring no body, or ending with its
		// headers, cannot carry one (its server refuses any data): it is
		// passed on as body-less, like an HTTP/1 request without one.
		r.Body = http.NoBody
	}
	if r.Body != nil && r.Body != http.NoBody {
		b := &body{Context: r.Context(), rc: r.Body, ctl: *http.NewResponseController(w), timeout: l.opts.ReadTimeout}
		r = r.WithContext(b)
		r.Body = b
	}
	next.ServeHTTP(w, r)
}

// trustsForwarded reports whether the client is a peer whose forwarded
// headers are believed.
func (l *Listener) trustsForwarded(r *http.Request) bool {
	if len(l.opts.ForwardedTrustedIPs) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range l.opts.ForwardedTrustedIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// stripForwarded removes the headers in which a proxy tells who the client
// is and how it came (X-Forwarded-*, X-Real-Ip, Forwarded): from an
// untrusted client they are lies that rules, middlewares (redirectScheme,
// ipAllowList's ipStrategy) and servers would believe. Ferry sets its own
// when it forwards the request.
func stripForwarded(h http.Header) {
	for k := range h {
		if len(k) > 0 && (k[0] == 'X' || k[0] == 'F') &&
			(strings.HasPrefix(k, "X-Forwarded-") || k == "X-Real-Ip" || k == "Forwarded") {
			delete(h, k)
		}
	}
}

// upgradeAllowed reports whether every protocol an Upgrade header asks
// for is allowed.
func (l *Listener) upgradeAllowed(values []string) bool {
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			ok := false
			for _, a := range l.opts.AllowedUpgrades {
				ok = ok || strings.EqualFold(p, a)
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// refuse answers status and closes the connection after it.
func refuse(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h["Connection"] = []string{"close"}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(status)
	msg := http.StatusText(status)
	if detail != "" {
		msg += ": " + detail
	}
	_, _ = io.WriteString(w, msg+"\n")
}

// body is a request body as the handlers read it: a read that makes no
// progress for the read timeout fails, and every failure is marked as the
// client's (fault.BodyError), however deep in a transport it surfaces. It
// is also the request's context, holding itself under fault.BodyKey, so
// that a failure the transport reports otherwise (its request cancelled
// because the connection's read failed) is still blamed on the client.
type body struct {
	context.Context
	rc      io.ReadCloser
	ctl     http.ResponseController
	timeout time.Duration // <= 0: no deadline
	armed   bool          // a read deadline is set
	failed  atomic.Pointer[fault.BodyError]
}

var _ fault.BodyReader = (*body)(nil)

// Value returns the body itself under fault.BodyKey.
func (b *body) Value(key any) any {
	if key == (fault.BodyKey{}) {
		return b
	}
	return b.Context.Value(key)
}

// ReadError returns the first failure reading the body, or nil.
func (b *body) ReadError() error {
	if e := b.failed.Load(); e != nil {
		return e.Err
	}
	return nil
}

func (b *body) Read(p []byte) (int, error) {
	if b.timeout > 0 {
		_ = b.ctl.SetReadDeadline(time.Now().Add(b.timeout))
		b.armed = true
	}
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if b.armed { // the server's own reads (is the client gone?) run without it
			_ = b.ctl.SetReadDeadline(time.Time{})
			b.armed = false
		}
		return n, err
	}
	// The deadline stays: the server's discard of the rest is bounded too.
	be := &fault.BodyError{Err: err}
	b.failed.CompareAndSwap(nil, be)
	return n, be
}

// Close closes the body; the server discards what is left unread within
// the read deadline.
func (b *body) Close() error { return b.rc.Close() }
