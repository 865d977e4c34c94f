package entrypoint

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/proxyproto"
	"github.com/ferryproxy/ferry/router/rule"
	"github.com/ferryproxy/ferry/router/tcp"
)

// acmeALPN is the protocol of TLS-ALPN-01 validations; those connections
// always go to the TLS server, which answers them.
const acmeALPN = "acme-tls/1"

// beforePeek runs before a connection's first byte is read. It reads the
// PROXY header of a trusted peer, rejects a PROXY header from any other,
// and serves entry points whose only routes are TCP routes without TLS at
// once (the server may speak first). It returns nil when the connection
// was taken or closed.
func (l *Listener) beforePeek(c net.Conn) net.Conn {
	if len(l.opts.ProxyProtocolTrustedIPs) > 0 {
		if c = l.proxyHeader(c); c == nil {
			return nil
		}
	}
	if l.opts.TCPRoutes == nil {
		return c
	}
	rs := l.opts.TCPRoutes()
	if !rs.Direct() {
		return c
	}
	req := rule.TCPRequest{ClientIP: tcp.ClientIP(c.RemoteAddr())}
	if r := rs.MatchPlain(&req); r != nil {
		l.serveTCP(c, r)
		return nil
	}
	return c
}

// routeTCP offers a connection to the entry point's TCP routers once its
// first byte is known. It returns the connection for the HTTP servers (with
// every byte read replayed), or nil when a TCP router took it.
func (l *Listener) routeTCP(c net.Conn, isTLS bool) net.Conn {
	if l.opts.TCPRoutes == nil {
		return c
	}
	rs := l.opts.TCPRoutes()
	req := rule.TCPRequest{ClientIP: tcp.ClientIP(c.RemoteAddr())}
	if !isTLS {
		if r := rs.MatchPlain(&req); r != nil {
			l.serveTCP(c, r)
			return nil
		}
		return c
	}
	if !rs.HasTLS() {
		return c
	}
	hello, replay, err := tcp.PeekClientHello(c, l.opts.PeekTimeout)
	if err != nil || slices.Contains(hello.Protos, acmeALPN) {
		return replay // the TLS server reports a bad handshake its own way
	}
	req.SNI, req.ALPN = hello.ServerName, hello.Protos
	if r := rs.MatchTLS(&req); r != nil {
		l.serveTCP(replay, r)
		return nil
	}
	return replay
}

// serveTCP forwards a connection with a TCP route until it ends.
func (l *Listener) serveTCP(c net.Conn, r *tcp.Route) {
	if !l.tcpConns.add(c) {
		_ = c.Close()
		return
	}
	defer l.tcpConns.remove(c)
	if cc := innermost(c); cc != nil {
		cc.recount(l.opts.TCPConnections)
	}
	getCert := l.tlsConfig.GetCertificate
	r.Serve(context.Background(), c, tcp.ServeOptions{Idle: l.opts.IdleTimeout, HandshakeTimeout: l.opts.PeekTimeout,
		GetCertificate: getCert, Log: l.log, Buffers: &l.tcpConns.buffers})
}

// proxyHeader handles the PROXY protocol: a trusted peer's header replaces
// the connection's remote address; a header from any other peer closes the
// connection. It returns nil when the connection was closed.
func (l *Listener) proxyHeader(c net.Conn) net.Conn {
	peer := tcp.ClientIP(c.RemoteAddr())
	trusted := slices.ContainsFunc(l.opts.ProxyProtocolTrustedIPs, func(p netip.Prefix) bool { return p.Contains(peer) })
	br := bufio.NewReaderSize(c, 256)
	_ = c.SetReadDeadline(time.Now().Add(l.opts.PeekTimeout))
	var remote net.Addr
	var err error
	if trusted {
		var h *proxyproto.Header
		switch h, err = proxyproto.Read(br); {
		case errors.Is(err, proxyproto.ErrNoHeader):
			err = nil
		case err == nil && !h.Local:
			remote = net.TCPAddrFromAddrPort(h.Source)
		}
	} else {
		err = rejectProxyHeader(br)
	}
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		if ce := l.log.Check(zapcore.WarnLevel, "PROXY protocol header refused"); ce != nil {
			ce.Write(zap.Stringer("peer", c.RemoteAddr()), zap.Bool("trusted", trusted), zap.Error(err))
		}
		_ = c.Close()
		return nil
	}
	buffered, _ := br.Peek(br.Buffered())
	return tcp.NewPrefixConn(c, slices.Clone(buffered), remote)
}

var errUntrustedProxy = errors.New("PROXY header from a peer outside proxyProtocol.trustedIPs")

// rejectProxyHeader returns an error when the stream starts with a PROXY
// signature. Only as many bytes as needed to tell are read; a peer that
// sends nothing (its server speaks first) is let through at the deadline.
func rejectProxyHeader(br *bufio.Reader) error {
	for n := 1; n <= 12; n++ {
		prefix, err := br.Peek(n)
		switch {
		case proxyproto.Detect(prefix) > 0:
			return errUntrustedProxy
		case len(prefix) == n && proxyproto.Detect(prefix) == 0:
			return nil
		case err != nil:
			if n > 1 || !isTimeout(err) {
				return err
			}
			return nil
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connSet tracks the TCP connections an entry point forwards, so that
// shutdown can end them.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	buffers tcp.BufferPool // copy buffers shared by the entry point's connections
}

func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// drain refuses new connections, waits until the forwarded ones end or ctx
// ends, then closes those that remain.
func (s *connSet) drain(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				_ = c.Close()
			}
			s.mu.Unlock()
			return
		}
	}
}
