package entrypoint

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// clientConn is a client's connection as accepted: the innermost wrapper
// of every connection an entry point serves. It gives back its slot of
// transport.maxConnections when closed, and once the connection is a
// tunnel (a hijacked WebSocket or other upgrade) it closes it after
// idleTimeout without a byte either way.
type clientConn struct {
	net.Conn
	release func() // gives back the connection's slot; nil without a limit
	gauge   Gauge  // counts the connection while open; nil: not counted
	once    sync.Once

	idle     time.Duration // tunnel idle timeout, set by tunnel
	tunnel   atomic.Bool
	lastMove atomic.Int64 // unix ns of the last byte either way, in tunnel mode
}

// Gauge counts open connections (a Prometheus gauge).
type Gauge interface {
	Inc()
	Dec()
}

// Close closes the connection, gives back its slot and stops counting it.
func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.release != nil {
			c.release()
		}
		if c.gauge != nil {
			c.gauge.Dec()
		}
	})
	return err
}

// recount moves the connection to another gauge (a TCP route took it).
func (c *clientConn) recount(g Gauge) {
	if c.gauge != nil {
		c.gauge.Dec()
	}
	c.gauge = g
	if g != nil {
		g.Inc()
	}
}

// NetConn returns the accepted connection.
func (c *clientConn) NetConn() net.Conn { return c.Conn }

// startTunnel switches the connection to tunnel mode: from now on a read
// or a write that waits longer than idle with nothing moving either way
// fails, which ends the tunnel.
func (c *clientConn) startTunnel(idle time.Duration) {
	if idle <= 0 {
		return
	}
	c.idle = idle
	c.lastMove.Store(time.Now().UnixNano())
	c.tunnel.Store(true)
}

func (c *clientConn) Read(b []byte) (int, error) {
	if !c.tunnel.Load() {
		return c.Conn.Read(b)
	}
	for {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
		n, err := c.Conn.Read(b)
		if n > 0 {
			c.lastMove.Store(time.Now().UnixNano())
		}
		if n == 0 && isTimeout(err) && c.movedWithin(c.idle) {
			continue // the other direction moved meanwhile
		}
		return n, err
	}
}

func (c *clientConn) Write(b []byte) (int, error) {
	if !c.tunnel.Load() {
		return c.Conn.Write(b)
	}
	written := 0
	for {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
		n, err := c.Conn.Write(b[written:])
		written += n
		if n > 0 {
			c.lastMove.Store(time.Now().UnixNano())
		}
		if err != nil && isTimeout(err) && written < len(b) && c.movedWithin(c.idle) {
			continue // the client is reading, slowly
		}
		return written, err
	}
}

func (c *clientConn) movedWithin(d time.Duration) bool {
	return time.Since(time.Unix(0, c.lastMove.Load())) < d
}

// httpConn is an HTTP/1 connection (plain, or TLS once the handshake is
// done) as the HTTP server reads it. It watches the request headers go by
// so that the entry point can see what net/http hides: a request that had
// both Content-Length and Transfer-Encoding (net/http drops the first), and
// Transfer-Encoding on HTTP/1.0 (net/http ignores it).
type httpConn struct {
	net.Conn
	tls  *tls.ConnectionState // nil on a plain connection
	scan headerScan

	// clUsed and teUsed count the header lines that the requests served so
	// far account for; only the connection's serving goroutine uses them.
	clUsed, teUsed uint32
	// streams records the streams of an h2c connection.
	streams streamRecord
}

// NetConn returns the wrapped connection.
func (c *httpConn) NetConn() net.Conn { return c.Conn }

func (c *httpConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.scan.scan(b[:n])
	}
	return n, err
}

// framing checks an HTTP/1 request's framing against the header lines
// seen on the connection. It reports reject when the request must be
// refused (Transfer-Encoding on HTTP/1.0), and closeAfter when the
// connection must be closed after the response (Content-Length and
// Transfer-Encoding together, RFC 9112 section 6.1). Requests read ahead
// (pipelining) can only make it close a connection more often, never less.
func (c *httpConn) framing(chunked, hasLength, http10 bool) (reject, closeAfter bool) {
	cl, te := c.scan.contentLength.Load(), c.scan.transferEncoding.Load()
	switch {
	case http10 && te > c.teUsed:
		return true, true
	case chunked:
		c.teUsed++
		return false, cl > c.clUsed
	case hasLength:
		c.clUsed++
	}
	return false, false
}

// headerScan counts the lines of a byte stream that start with
// "Content-Length:" or "Transfer-Encoding:" (in any case), across reads.
// A request body can hold such lines too: that only makes the entry point
// close a connection it could have kept.
type headerScan struct {
	contentLength    atomic.Uint32
	transferEncoding atomic.Uint32

	started  bool // past the connection's first byte
	matching bool // at the start of a line, or inside a partial match
	which    int8 // pattern being matched: -1 undecided
	pos      uint8
}

var scanPatterns = [2]string{"content-length:", "transfer-encoding:"}

func (s *headerScan) scan(b []byte) {
	if !s.started {
		s.started, s.matching, s.which, s.pos = true, true, -1, 0
	}
	for len(b) > 0 {
		if s.matching {
			b = b[s.match(b):]
			if s.matching {
				return // the read ended inside a possible match
			}
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		b = b[i+1:]
		s.matching, s.which, s.pos = true, -1, 0
	}
}

// match advances a match at the start of b and returns how many bytes it
// consumed; it clears s.matching once the line is decided.
func (s *headerScan) match(b []byte) int {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if s.which < 0 {
			switch c {
			case 'c':
				s.which = 0
			case 't':
				s.which = 1
			default:
				s.matching = false
				return i
			}
		}
		p := scanPatterns[s.which]
		if c != p[s.pos] {
			s.matching = false
			return i
		}
		s.pos++
		if int(s.pos) == len(p) {
			if s.which == 0 {
				s.contentLength.Add(1)
			} else {
				s.transferEncoding.Add(1)
			}
			s.matching = false
			return i + 1
		}
	}
	return len(b)
}
