package entrypoint

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/ferryproxy/ferry/router/tcp"
)

// h1Server serves HTTP/1.x connections, plain and over TLS, each on the
// goroutine that accepted it: requests are read and answered there, with
// no goroutine per request. Between requests a connection holds no
// buffers: it waits for the next request's first byte with a one-byte
// read, and takes its reader and writer from pools only while it serves.
// Connections that open with HTTP/2's preface (h2c) go to h2c.
type h1Server struct {
	opts    *Options
	log     *zap.Logger
	handler http.Handler
	h2c     *chanListener // h2c connections, for net/http's HTTP/2 server

	buffers sync.Pool // *h1Buffers

	shutdown   atomic.Bool
	mu         sync.Mutex
	conns      map[*h1Conn]struct{}
	onShutdown []func()
}

// Connection states (h1Conn.state).
const (
	stateActive  int32 = iota // reading or serving a request
	stateIdle                 // waiting for the next request
	stateClosing              // told to close by Shutdown while idle
)

const (
	// h1BufferSize is the size of a connection's reader and writer.
	h1BufferSize = 4 << 10
	// preCommitSize is how much of a body is held back before the
	// response's headers are written, so that a short answer gets a
	// Content-Length instead of chunks.
	preCommitSize = 2 << 10
	// maxPostHandlerReadBytes is how much of a body a handler left unread
	// is discarded to keep the connection; beyond, the connection closes.
	maxPostHandlerReadBytes = 256 << 10
	// watchDelay is how long a request is served before the connection is
	// watched for the client going away (its context is then cancelled).
	watchDelay = 50 * time.Millisecond
)

// aLongTimeAgo is a deadline in the past: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

var errHeadersTooLarge = errors.New("request headers too large")

// h2cPreface is how an HTTP/2 client with prior knowledge opens a plain
// connection.
const h2cPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func newH1Server(opts *Options, log *zap.Logger, handler http.Handler, h2c *chanListener) *h1Server {
	return &h1Server{opts: opts, log: log, handler: handler, h2c: h2c, conns: map[*h1Conn]struct{}{}}
}

// RegisterOnShutdown registers f to run when Shutdown starts (streams that
// would otherwise hold the shutdown until its deadline end on it).
func (s *h1Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

// Shutdown stops serving: idle connections close now, busy ones after the
// response in progress. It returns once all are closed, or ctx's error.
func (s *h1Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	for _, f := range s.onShutdown {
		go f()
	}
	s.mu.Unlock()
	wait := time.Millisecond
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
			wait = min(2*wait, 100*time.Millisecond)
		}
	}
}

// Close closes every connection at once.
func (s *h1Server) Close() {
	s.shutdown.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.conn.Close()
	}
}

// closeIdle wakes the idle connections so that they close, and returns
// how many connections are left.
func (s *h1Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosing) {
			_ = c.conn.SetReadDeadline(aLongTimeAgo)
		}
	}
	return len(s.conns)
}

func (s *h1Server) track(c *h1Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shutdown.Load() {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// h1Conn is a connection being served.
type h1Conn struct {
	srv    *h1Server
	conn   *httpConn
	ctx    context.Context // the requests' parent: values only
	remote string
	state  atomic.Int32

	cr   connReader
	bufs *h1Buffers    // nil while idle
	br   *bufio.Reader // bufs.br
	bw   *bufio.Writer // bufs.bw

	parked    atomic.Bool // waiting idle on a goroutine of its own
	idleUntil time.Time   // the end of the idle wait

	dateSec int64      // the second dateBuf holds
	dateBuf [29]byte   // the Date header's value
	cont    sync.Mutex // orders a 100 Continue before the response
	noBody  reqBody    // the body of requests that have none
}

// serveConn serves the HTTP/1 connection c until it closes or is
// hijacked. It runs on the goroutine that accepted c.
func (s *h1Server) serveConn(c *httpConn) {
	hc := &h1Conn{srv: s, conn: c, remote: c.RemoteAddr().String()}
	hc.cr.conn = c
	hc.cr.cond.L = &hc.cr.mu
	if !s.track(hc, true) {
		_ = c.Close()
		return
	}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr())
	hc.ctx = withConn(ctx, c)
	hc.run(true)
}

// Outcomes of h1Conn.serve.
const (
	connClosed   = iota // to close
	connHijacked        // the handler took the connection over
	connParked          // idle for parkAfter: to wait on in a new goroutine
)

// parkAfter is how long a connection waits idle on the goroutine that
// served it before it moves to a new goroutine, whose stack starts small
// again: the stack grown by serving is then freed while the connection
// idles on.
const parkAfter = 250 * time.Millisecond

// run serves the connection from its first request, or from an idle wait
// moved from another goroutine, and ends it.
func (c *h1Conn) run(first bool) {
	switch c.serve(first) {
	case connParked:
		go c.run(false)
		return
	case connHijacked:
		c.srv.track(c, false)
		return
	}
	c.srv.track(c, false)
	if c.cr.failed.Load() {
		// A body was left unread: let the client read the answer before
		// the close resets what it still sends.
		closeWriteAndWait(c.conn)
	}
	c.release()
	_ = c.conn.Close()
}

// serve runs the connection's request loop.
func (c *h1Conn) serve(first bool) int {
	o := c.srv.opts
	for ; ; first = false {
		if !first && (c.bufs == nil || c.br.Buffered() == 0) && !c.cr.hasByte {
			if outcome, ok := c.waitIdle(); !ok {
				return outcome
			}
		}
		c.acquire()
		if first && c.conn.tls == nil && c.h2cHandOver() {
			return connHijacked
		}
		c.cr.setLimit(int64(o.MaxHeaderBytes) + h1BufferSize)
		_ = c.conn.SetReadDeadline(time.Now().Add(o.ReadHeaderTimeout))
		c.cr.startCapture(c.br, &c.bufs.head)
		req, err := http.ReadRequest(c.br)
		head := c.cr.endCapture(c.br)
		c.cr.setLimit(-1)
		if err != nil {
			c.readFailed(err)
			return connClosed
		}
		_ = c.conn.SetReadDeadline(time.Time{})
		if o.WriteTimeout > 0 {
			_ = c.conn.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
		}
		if status, msg := checkRequest(req, head); msg != "" {
			c.refuse(status, fmt.Sprintf("%d %s: %s", status, http.StatusText(status), msg))
			return connClosed
		}
		keep, hijacked := c.serveRequest(req)
		if hijacked {
			return connHijacked
		}
		if !keep || c.srv.shutdown.Load() {
			return connClosed
		}
	}
}

// waitIdle waits for the next request: up to parkAfter on the goroutine
// that served the last one, with its buffers (a busy connection reads each
// request with one read), then up to the idle timeout on a parked
// goroutine with none, reading the next request's first byte alone. It
// reports false and the outcome when the connection is not to serve now.
func (c *h1Conn) waitIdle() (int, bool) {
	parked := c.parked.Load()
	if !parked {
		c.idleUntil = time.Now().Add(c.srv.opts.IdleTimeout)
		c.state.Store(stateIdle)
	}
	wait := c.idleUntil
	if t := time.Now().Add(parkAfter); !parked && t.Before(wait) {
		wait = t
	}
	_ = c.conn.SetReadDeadline(wait)
	if c.srv.shutdown.Load() || c.state.Load() != stateIdle {
		return connClosed, false // Shutdown may have set its deadline first
	}
	var err error
	if parked {
		var n int
		if n, err = c.conn.Read(c.cr.byteBuf[:]); n == 1 {
			c.cr.hasByte, err = true, nil
		}
	} else {
		c.acquire()
		_, err = c.br.Peek(1)
	}
	if err != nil && !parked && isTimeout(err) && time.Now().Before(c.idleUntil) && c.state.Load() == stateIdle {
		c.release()
		c.parked.Store(true)
		return connParked, false
	}
	if err != nil || !c.state.CompareAndSwap(stateIdle, stateActive) {
		return connClosed, false
	}
	c.parked.Store(false)
	return 0, true
}

// h1Buffers are what a connection holds only while it serves.
type h1Buffers struct {
	br   *bufio.Reader
	bw   *bufio.Writer
	pre  []byte // a response's body held back before its headers
	hdr  []byte // a response's header block, snapshotted by WriteHeader
	head []byte // a request's header section as read
}

// acquire takes a set of buffers from the pool.
func (c *h1Conn) acquire() {
	if c.bufs != nil {
		return
	}
	b, ok := c.srv.buffers.Get().(*h1Buffers)
	if ok {
		b.br.Reset(&c.cr)
		b.bw.Reset(c.conn)
	} else {
		b = &h1Buffers{br: bufio.NewReaderSize(&c.cr, h1BufferSize), bw: bufio.NewWriterSize(c.conn, h1BufferSize)}
	}
	c.bufs, c.br, c.bw = b, b.br, b.bw
}

// release gives the buffers back, unless the reader holds bytes of a
// pipelined request.
func (c *h1Conn) release() {
	b := c.bufs
	if b == nil || b.br.Buffered() > 0 {
		return
	}
	b.br.Reset(nil)
	b.bw.Reset(nil)
	if cap(b.pre) > preCommitSize || cap(b.hdr) > 2*h1BufferSize || cap(b.head) > 2*h1BufferSize {
		b.pre, b.hdr, b.head = nil, nil, nil // a rare large one is not kept
	}
	c.srv.buffers.Put(b)
	c.bufs, c.br, c.bw = nil, nil, nil
}

// h2cHandOver gives a plain connection that opens with HTTP/2's preface to
// the h2c server, replaying what was read of it.
func (c *h1Conn) h2cHandOver() bool {
	if c.srv.h2c == nil {
		return false
	}
	if b, err := c.br.Peek(3); err != nil || string(b) != "PRI" {
		return false
	}
	if b, err := c.br.Peek(len(h2cPreface)); err != nil || string(b) != h2cPreface {
		return false
	}
	buffered, _ := c.br.Peek(c.br.Buffered())
	replay := bytes.Clone(buffered)
	_ = c.conn.SetReadDeadline(time.Time{})
	c.bufs, c.br, c.bw = nil, nil, nil
	c.srv.h2c.push(&httpConn{Conn: tcp.NewPrefixConn(c.conn, replay, nil), tls: c.conn.tls})
	return true
}

// readFailed answers a request that could not be read, as net/http does:
// nothing when the connection ended or timed out, 431 past the header
// limit, 501 for an unknown transfer coding, 400 otherwise.
func (c *h1Conn) readFailed(err error) {
	if c.cr.limited && c.cr.remain <= 0 || errors.Is(err, errHeadersTooLarge) {
		c.refuse(http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large")
		return
	}
	var ne net.Error
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
		return
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, "unsupported transfer encoding"):
		c.refuse(http.StatusNotImplemented, "Unsupported transfer encoding")
	default:
		c.refuse(http.StatusBadRequest, "400 Bad Request")
	}
}

// refuse writes an error response with body on a request that is not
// served, and leaves the connection to close.
func (c *h1Conn) refuse(status int, body string) {
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(c.conn, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), body)
	closeWriteAndWait(c.conn)
}

// closeWriteAndWait half-closes the connection and gives the client a
// moment to read the answer before the close resets what it still sends.
func closeWriteAndWait(c net.Conn) {
	if tcpc, ok := innermostTCP(c); ok {
		_ = tcpc.CloseWrite()
	}
	time.Sleep(500 * time.Millisecond)
}

func innermostTCP(c net.Conn) (*net.TCPConn, bool) {
	for range 8 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}

// checkRequest applies the checks net/http's server makes on a request
// beyond its syntax, on the request and its header section as read (which
// still has the Host lines http.ReadRequest removes); it returns why the
// request is refused, or "".
func checkRequest(r *http.Request, head []byte) (int, string) {
	if r.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, "unsupported protocol version"
	}
	hosts, host := hostLines(head)
	bad := func(msg string) (int, string) { return http.StatusBadRequest, msg }
	switch {
	case r.ProtoAtLeast(1, 1) && hosts == 0 && r.Method != http.MethodConnect:
		return bad("missing required Host header")
	case hosts > 1:
		return bad("too many Host headers")
	case hosts == 1 && !httpguts.ValidHostHeader(host):
		return bad("malformed Host header")
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return bad("invalid header name")
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return bad("invalid header value")
			}
		}
	}
	return 0, ""
}

// hostLines counts the Host header lines of a request's header section
// and returns the first one's value.
func hostLines(head []byte) (n int, first string) {
	for i := 0; ; {
		j := bytes.IndexByte(head[i:], '\n')
		if j < 0 {
			return n, first
		}
		line := head[i+1+j:]
		i += j + 1
		if len(line) < 5 || line[4] != ':' || !strings.EqualFold(string(line[:4]), "host") {
			continue
		}
		n++
		if n == 1 {
			v := line[5:]
			if k := bytes.IndexByte(v, '\n'); k >= 0 {
				v = v[:k]
			}
			first = strings.Trim(string(v), " \t\r")
		}
	}
}

// serveRequest hands req to the handler and finishes its response. It
// reports whether the connection can serve another request, and whether
// the handler took the connection over.
func (c *h1Conn) serveRequest(req *http.Request) (keep, hijacked bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	w := &h1Response{c: c, req: req, header: make(http.Header, 8), contentLength: -1}
	w.isHEAD = req.Method == http.MethodHead
	w.http11 = req.ProtoAtLeast(1, 1)
	w.closeAfter = req.Close || c.srv.shutdown.Load()
	w.wants10KeepAlive = !w.http11 && !req.Close
	rb := &c.noBody // a request without a body: no one else sees it
	if req.Body == http.NoBody || req.Body == nil {
		*rb = reqBody{rc: http.NoBody, w: w, eof: true}
	} else {
		rb = &reqBody{rc: req.Body, w: w}
		if expectsContinue(req) {
			if w.http11 && req.ContentLength != 0 {
				rb.continueOwed = true
			}
		} else if req.Header.Get("Expect") != "" {
			w.header["Connection"] = []string{"close"}
			w.WriteHeader(http.StatusExpectationFailed)
			c.noBody = reqBody{rc: http.NoBody, w: w, eof: true}
			w.body = &c.noBody
			w.finish()
			_ = c.bw.Flush()
			return false, false
		}
		req.Body = rb
	}
	w.body = rb
	c.cr.cancel = cancel
	if rb.eof {
		c.cr.arm()
	}
	handler := c.srv.handler
	if req.RequestURI == "*" && req.Method == http.MethodOptions {
		handler = http.HandlerFunc(optionsStar)
	}
	if !c.runHandler(handler, w, req) {
		c.cr.disarm()
		return false, w.hijacked
	}
	c.cr.disarm()
	c.cr.cancel = nil
	if w.hijacked {
		return false, true
	}
	w.finish()
	if c.bw.Flush() != nil {
		return false, false
	}
	return !w.closeAfter && rb.done() && !c.cr.failed.Load(), false
}

// runHandler calls the handler; it reports false when the handler
// panicked (the connection is then closed without finishing the answer).
func (c *h1Conn) runHandler(h http.Handler, w *h1Response, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v != http.ErrAbortHandler {
				c.srv.log.Error("panic serving a request", zap.String("client", c.remote),
					zap.Any("panic", v), zap.ByteString("stack", debug.Stack()))
			}
		}
	}()
	h.ServeHTTP(w, req)
	return true
}

// optionsStar answers "OPTIONS *", a question about the server itself,
// as net/http does: 200 with no body.
func optionsStar(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<10))
	}
	w.Header()["Content-Length"] = []string{"0"}
}

func expectsContinue(r *http.Request) bool {
	return httpguts.HeaderValuesContainsToken(r.Header["Expect"], "100-continue")
}

// connReader is what a connection's bufio.Reader reads from: the byte
// read while idle or by the watch first, then the connection, within a
// limit while headers are read. While a request whose body has been read
// is served, it watches the connection for the client going away.
type connReader struct {
	conn    net.Conn
	byteBuf [1]byte
	hasByte bool

	limited bool
	remain  int64

	capture   []byte      // the bytes read since startCapture
	captureTo *[]byte     // where capture goes back to; nil: not capturing
	failed    atomic.Bool // a body was abandoned: the stream's framing is lost

	cancel context.CancelFunc // the request's, while it is served

	mu       sync.Mutex
	cond     sync.Cond
	timer    *time.Timer
	armed    bool // the watch may start
	inRead   bool // the watch is reading
	aborting bool
}

var errBodyAbandoned = errors.New("request body abandoned")

// startCapture starts keeping a copy of what is read, in *buf: the header
// section of the request about to be read, beginning with what br holds
// already.
func (cr *connReader) startCapture(br *bufio.Reader, buf *[]byte) {
	held, _ := br.Peek(br.Buffered())
	cr.capture = append((*buf)[:0], held...)
	cr.captureTo = buf
}

// endCapture stops the copy and returns the bytes br consumed meanwhile.
func (cr *connReader) endCapture(br *bufio.Reader) []byte {
	*cr.captureTo = cr.capture
	cr.captureTo = nil
	n := max(len(cr.capture)-br.Buffered(), 0)
	return cr.capture[:n]
}

func (cr *connReader) setLimit(n int64) {
	cr.limited, cr.remain = n >= 0, n
}

func (cr *connReader) Read(p []byte) (int, error) {
	if cr.failed.Load() {
		return 0, errBodyAbandoned
	}
	if len(p) == 0 {
		return 0, nil
	}
	if cr.limited {
		if cr.remain <= 0 {
			return 0, errHeadersTooLarge
		}
		p = p[:min(int64(len(p)), cr.remain)]
	}
	var n int
	var err error
	if cr.hasByte {
		p[0], cr.hasByte, n = cr.byteBuf[0], false, 1
	} else {
		n, err = cr.conn.Read(p)
	}
	if cr.limited {
		cr.remain -= int64(n)
	}
	if cr.captureTo != nil {
		cr.capture = append(cr.capture, p[:n]...)
	}
	return n, err
}

// arm starts the watch for the client going away, after watchDelay: a
// request answered sooner never pays for it.
func (cr *connReader) arm() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.armed || cr.hasByte {
		return
	}
	cr.armed = true
	if cr.timer == nil {
		cr.timer = time.AfterFunc(watchDelay, cr.watch)
	} else {
		cr.timer.Reset(watchDelay)
	}
}

// watch reads the connection while the request is served: the client
// closing it cancels the request; a byte of a pipelined request is kept.
func (cr *connReader) watch() {
	cr.mu.Lock()
	if !cr.armed || cr.inRead {
		cr.mu.Unlock()
		return
	}
	cr.inRead = true
	cancel := cr.cancel
	cr.mu.Unlock()
	n, err := cr.conn.Read(cr.byteBuf[:])
	cr.mu.Lock()
	var ne net.Error
	if n == 1 {
		cr.hasByte = true
	} else if err != nil && !cr.aborting && cancel != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		cancel() // the client is gone
	}
	cr.inRead = false
	cr.cond.Broadcast()
	cr.mu.Unlock()
}

// disarm stops the watch, waiting for its read to end.
func (cr *connReader) disarm() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if !cr.armed {
		return
	}
	cr.armed = false
	cr.timer.Stop()
	if cr.inRead {
		cr.aborting = true
		_ = cr.conn.SetReadDeadline(aLongTimeAgo)
		for cr.inRead {
			cr.cond.Wait()
		}
		cr.aborting = false
		_ = cr.conn.SetReadDeadline(time.Time{})
	}
}

// reqBody is a request's body as the handler reads it: it sends the 100
// Continue a client waits for, arms the watch once the body has been
// read, and on Close discards a short rest so the connection can serve
// on; a long rest marks the connection as done instead.
type reqBody struct {
	rc           io.ReadCloser
	w            *h1Response
	mu           sync.Mutex
	eof          bool
	closed       bool
	continueOwed bool
}

func (b *reqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.continueOwed {
		b.continueOwed = false
		if err := b.w.writeContinue(); err != nil {
			return 0, err
		}
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
		b.w.c.cr.arm()
	}
	return n, err
}

// Close ends the body's use by the handler.
func (b *reqBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.discardLocked()
	b.closed = true
	return nil
}

// discardLocked reads the rest of a body the handler did not read, up to
// maxPostHandlerReadBytes; past that, or when the client was never told
// to send it (Expect: 100-continue), the connection's framing is given up.
func (b *reqBody) discardLocked() {
	if b.eof || b.closed {
		return
	}
	if !b.continueOwed {
		c := b.w.c
		if t := c.srv.opts.ReadTimeout; t > 0 {
			_ = c.conn.SetReadDeadline(time.Now().Add(t))
			defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
		}
		n, err := io.CopyN(io.Discard, b.rc, maxPostHandlerReadBytes+1)
		if err == io.EOF && n <= maxPostHandlerReadBytes {
			b.eof = true
			return
		}
	}
	b.w.c.cr.failed.Store(true)
	_ = b.rc.Close()
}

func (b *reqBody) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}
