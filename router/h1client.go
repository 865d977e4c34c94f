package router

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"sync"
	"syscall"
	"time"
)

// h1Client sends body-less requests to plain http:// servers over pooled
// HTTP/1.1 connections on the calling goroutine: the request is written and
// its answer read by the handler itself, without the read and write loop
// goroutines of net/http's Transport and their hand-offs. Every other
// request (a body, an upgrade, Expect, CONNECT, https) goes to fallback.
type h1Client struct {
	fallback      *http.Transport
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle       int           // idle connections kept per server; 0: none
	idleTimeout   time.Duration // an idle connection older than this is closed
	headerTimeout time.Duration // bounds the wait for an answer's headers; 0: none

	mu   sync.Mutex
	idle map[string][]*h1Conn // by host:port, most recent last
}

// h1Conn is one pooled connection.
type h1Conn struct {
	addr string // the pool's key
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// idle closes the connection once it stayed idleTimeout in the pool
	// (a server that went away leaves no descriptor behind); nil when the
	// client has no idle timeout.
	idle *time.Timer
}

func newH1Client(fallback *http.Transport) *h1Client {
	c := &h1Client{fallback: fallback, dial: fallback.DialContext, idleTimeout: fallback.IdleConnTimeout,
		headerTimeout: fallback.ResponseHeaderTimeout, idle: map[string][]*h1Conn{}}
	if !fallback.DisableKeepAlives {
		c.maxIdle = fallback.MaxIdleConnsPerHost
	}
	if c.dial == nil {
		c.dial = (&net.Dialer{}).DialContext
	}
	return c
}

// eligible reports whether req can be sent on the calling goroutine.
func eligible(req *http.Request) bool {
	return req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 &&
		req.Method != http.MethodConnect && req.Header.Get("Upgrade") == "" && req.Header.Get("Expect") == ""
}

// replayable reports whether req may be sent again on a new connection when
// a reused one failed before any answer (as net/http's Transport does).
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if !eligible(req) {
		return c.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	x := exchange{closeAfter: req.Close}
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
		// ReverseProxy passes interim answers on through this hook.
		x.informational = func(r *http.Response) { _ = trace.Got1xxResponse(r.StatusCode, textproto.MIMEHeader(r.Header)) }
	}
	return c.exchange(req, addr, x)
}

// exchange says how one request is sent and its interim answers handled.
type exchange struct {
	// write writes the request's head; nil: the request writes itself.
	write func(bw *bufio.Writer) error
	// informational receives each 1xx answer but 101; nil: they are
	// skipped.
	informational func(resp *http.Response)
	// closeAfter closes the connection after the answer.
	closeAfter bool
}

// max1xx bounds the interim answers read before the final one.
const max1xx = 16

// exchange sends req to addr over a pooled connection, or a new one, and
// reads its answer's headers; it sends it again on a new connection when a
// reused one turns out to have been closed by the server.
func (c *h1Client) exchange(req *http.Request, addr string, x exchange) (*http.Response, error) {
	for {
		pc, reused, err := c.get(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(req, pc, &x)
		if err == nil {
			return resp, nil
		}
		var nr nothingRead
		if !errors.As(err, &nr) {
			return nil, err
		}
		if !reused || !replayable(req) || req.Context().Err() != nil || !closedByServer(nr.err) {
			return nil, nr.err
		}
	}
}

// closedByServer reports whether err says the server had closed the
// connection (not a timeout: a slow server is not asked twice).
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// nothingRead is the error of a connection that failed before any byte of
// an answer arrived: a reused connection the server had closed.
type nothingRead struct{ err error }

func (e nothingRead) Error() string { return e.err.Error() }
func (e nothingRead) Unwrap() error { return e.err }

// send writes req on pc and reads its answer's headers; the answer's body
// gives pc back to the pool once read to its end.
func (c *h1Client) send(req *http.Request, pc *h1Conn, x *exchange) (*http.Response, error) {
	stop := context.AfterFunc(req.Context(), func() { _ = pc.conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.conn.Close()
		return nil, err
	}
	var err error
	if x.write != nil {
		err = x.write(pc.bw)
	} else {
		err = req.Write(pc.bw)
	}
	if err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(nothingRead{err})
	}
	if c.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Now().Add(c.headerTimeout))
	}
	var resp *http.Response
	for n := 0; ; n++ {
		if _, err := pc.br.Peek(1); err != nil {
			if n > 0 {
				return fail(err)
			}
			return fail(nothingRead{err})
		}
		r, err := http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		if r.StatusCode >= 200 || r.StatusCode == http.StatusSwitchingProtocols {
			resp = r
			break
		}
		if n == max1xx {
			return fail(errors.New("too many 1xx informational answers"))
		}
		if x.informational != nil {
			x.informational(r)
		}
	}
	if c.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Time{})
	}
	keep := !resp.Close && !x.closeAfter && c.maxIdle > 0
	if resp.Body == http.NoBody {
		c.release(pc, stop, keep)
		return resp, nil
	}
	resp.Body = &h1Body{rc: resp.Body, c: c, pc: pc, stop: stop, keep: keep}
	return resp, nil
}

// get returns an idle connection to addr, or a new one.
func (c *h1Client) get(ctx context.Context, addr string) (*h1Conn, bool, error) {
	c.mu.Lock()
	if list := c.idle[addr]; len(list) > 0 {
		pc := list[len(list)-1]
		if len(list) == 1 {
			delete(c.idle, addr)
		} else {
			c.idle[addr] = list[:len(list)-1]
		}
		c.mu.Unlock()
		if pc.idle != nil {
			pc.idle.Stop() // a timer that fired finds pc gone from the pool
		}
		return pc, true, nil
	}
	c.mu.Unlock()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &h1Conn{addr: addr, conn: conn, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, false, nil
}

// release gives pc back to the pool when keep is set and the request's
// context did not close it, and closes it otherwise. A connection with
// bytes after the answer (a server sending more than it announced) is
// never reused: they would be read as the next request's answer.
func (c *h1Client) release(pc *h1Conn, stop func() bool, keep bool) {
	if !stop() || !keep || pc.br.Buffered() > 0 {
		_ = pc.conn.Close()
		return
	}
	c.mu.Lock()
	pooled := len(c.idle[pc.addr]) < c.maxIdle
	if pooled {
		c.idle[pc.addr] = append(c.idle[pc.addr], pc)
		if c.idleTimeout > 0 {
			if pc.idle == nil {
				pc.idle = time.AfterFunc(c.idleTimeout, func() { c.evict(pc) })
			} else {
				pc.idle.Reset(c.idleTimeout)
			}
		}
	}
	c.mu.Unlock()
	if !pooled {
		_ = pc.conn.Close()
	}
}

// evict closes pc if it is still idle in the pool.
func (c *h1Client) evict(pc *h1Conn) {
	c.mu.Lock()
	list := c.idle[pc.addr]
	i := slices.Index(list, pc)
	if i >= 0 {
		c.idle[pc.addr] = slices.Delete(list, i, i+1)
		if len(c.idle[pc.addr]) == 0 {
			delete(c.idle, pc.addr)
		}
	}
	c.mu.Unlock()
	if i >= 0 {
		_ = pc.conn.Close()
	}
}

// CloseIdleConnections closes the pooled connections, and the fallback's.
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle = map[string][]*h1Conn{}
	c.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			if pc.idle != nil {
				pc.idle.Stop()
			}
			_ = pc.conn.Close()
		}
	}
	c.fallback.CloseIdleConnections()
}

// h1Body is an answer's body; its end gives the connection back.
type h1Body struct {
	rc   io.ReadCloser
	c    *h1Client
	pc   *h1Conn
	stop func() bool
	keep bool
	once sync.Once
}

func (b *h1Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.once.Do(func() { b.c.release(b.pc, b.stop, b.keep) })
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.once.Do(func() {
		b.stop()
		_ = b.pc.conn.Close()
	})
	return nil
}
