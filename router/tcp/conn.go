package tcp

import (
	"net"
)

// PrefixConn is a connection whose first bytes were already read: it
// replays them before reading on, and may report another remote address
// (the client's, from a PROXY header).
type PrefixConn struct {
	net.Conn
	prefix []byte
	remote net.Addr
}

// NewPrefixConn returns c with prefix replayed first. remote, when not nil,
// replaces c's remote address.
func NewPrefixConn(c net.Conn, prefix []byte, remote net.Addr) *PrefixConn {
	if p, ok := c.(*PrefixConn); ok && len(p.prefix) == 0 {
		if remote == nil {
			remote = p.remote
		}
		c = p.Conn
	}
	return &PrefixConn{Conn: c, prefix: prefix, remote: remote}
}

// Read returns the replayed bytes first.
func (c *PrefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(b)
}

// RemoteAddr is the client's address.
func (c *PrefixConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// NetConn returns the wrapped connection.
func (c *PrefixConn) NetConn() net.Conn { return c.Conn }

// CloseWrite closes the write side of the underlying connection.
func (c *PrefixConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite shuts down the write half of c, unwrapping connections that
// wrap a TCP connection; connections that cannot half-close are left open.
func closeWrite(c net.Conn) error {
	for range 8 {
		switch cc := c.(type) {
		case interface{ CloseWrite() error }:
			return cc.CloseWrite()
		case interface{ NetConn() net.Conn }:
			c = cc.NetConn()
		default:
			return nil
		}
	}
	return nil
}
