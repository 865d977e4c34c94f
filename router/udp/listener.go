package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of a UDP entry point.
const (
	// DefaultTimeout ends a session after this long without a datagram either way.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxSessions bounds the sessions of one entry point; datagrams
	// of further clients are dropped until a session ends.
	DefaultMaxSessions = 4096
	// maxDatagram is the largest UDP payload.
	maxDatagram = 65535
)

// Options configure a Listener.
type Options struct {
	// Name is the entry point's name, for logs.
	Name string
	// Address is host:port to listen on.
	Address string
	// Timeout ends idle sessions; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxSessions bounds the concurrent sessions; zero means DefaultMaxSessions.
	MaxSessions int
	// Route returns the entry point's current route, nil when no UDP router
	// serves it. It is called for every datagram from a client.
	Route func() *Route
	// Sessions, when set, counts the open sessions (a Prometheus gauge).
	Sessions interface {
		Inc()
		Dec()
	}
}

// Listener is a UDP entry point: it reads client datagrams and forwards
// them through the client's session.
type Listener struct {
	sessionGauge interface {
		Inc()
		Dec()
	}
	log     *zap.Logger
	conn    *net.UDPConn
	route   func() *Route
	timeout time.Duration
	max     int

	mu       sync.Mutex // guards sessions and each session's last activity check
	sessions map[netip.AddrPort]*session
}

// session is the exchange between one client address and one server.
type session struct {
	client netip.AddrPort
	up     *net.UDPConn
	svc    *LoadBalancer
	server string
	last   atomic.Int64 // unix nanoseconds of the last datagram either way
}

// Listen opens the entry point's socket.
func Listen(log *zap.Logger, opts Options) (*Listener, error) {
	addr, err := net.ResolveUDPAddr("udp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("udp: entry point %s: resolve %s: %w", opts.Name, opts.Address, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp: entry point %s: listen on %s: %w", opts.Name, opts.Address, err)
	}
	l := &Listener{log: log, conn: conn, route: opts.Route, timeout: opts.Timeout, max: opts.MaxSessions,
		sessions: make(map[netip.AddrPort]*session), sessionGauge: opts.Sessions}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.max <= 0 {
		l.max = DefaultMaxSessions
	}
	if l.route == nil {
		l.route = func() *Route { return nil }
	}
	return l, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// Sessions returns the number of live sessions.
func (l *Listener) Sessions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sessions)
}

// Server returns the server of client's session, "" when it has none.
func (l *Listener) Server(client netip.AddrPort) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sessions[client]; s != nil {
		return s.server
	}
	return ""
}

// Serve forwards datagrams until ctx ends, then closes the socket and every
// session and returns once their goroutines have stopped.
func (l *Listener) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		_ = l.conn.Close()
	}()
	buf := make([]byte, maxDatagram)
	for {
		n, client, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			l.log.Debug("read datagram", zap.Error(err))
			continue
		}
		l.forward(ctx, &wg, netip.AddrPortFrom(client.Addr().Unmap(), client.Port()), buf[:n])
	}
	cancel()
	l.mu.Lock()
	for c, s := range l.sessions {
		_ = s.up.Close()
		delete(l.sessions, c)
	}
	l.mu.Unlock()
	wg.Wait()
	return nil
}

// forward sends a client datagram through the client's session, starting
// one when the client has none. A session whose service is no longer the
// entry point's (its router was removed or its service changed) ends.
func (l *Listener) forward(ctx context.Context, wg *sync.WaitGroup, client netip.AddrPort, data []byte) {
	rt := l.route()
	l.mu.Lock()
	s := l.sessions[client]
	if s != nil && (rt == nil || rt.Service != s.svc) {
		delete(l.sessions, client)
		_ = s.up.Close()
		s = nil
	}
	if s != nil {
		s.last.Store(time.Now().UnixNano())
		l.mu.Unlock()
		_, _ = s.up.Write(data)
		return
	}
	full := len(l.sessions) >= l.max
	l.mu.Unlock()
	if rt == nil || rt.Service == nil {
		return
	}
	if full {
		l.log.Debug("session limit reached; datagram dropped", zap.Stringer("client", client), zap.Int("max", l.max))
		return
	}
	up, server, err := rt.Service.Dial(ctx)
	if err != nil {
		l.log.Warn("start session", zap.Stringer("client", client), zap.String("router", rt.Name), zap.Error(err))
		return
	}
	s = &session{client: client, up: up, svc: rt.Service, server: server}
	s.last.Store(time.Now().UnixNano())
	l.mu.Lock()
	l.sessions[client] = s // only this goroutine adds sessions
	l.mu.Unlock()
	wg.Add(1)
	if l.sessionGauge != nil {
		l.sessionGauge.Inc()
	}
	go l.relay(wg, s)
	_, _ = up.Write(data)
}

// relay carries the server's datagrams back to the client until the
// session has been idle for the timeout or its socket is closed.
func (l *Listener) relay(wg *sync.WaitGroup, s *session) {
	defer wg.Done()
	if l.sessionGauge != nil {
		defer l.sessionGauge.Dec()
	}
	buf := make([]byte, maxDatagram)
	for {
		_ = s.up.SetReadDeadline(time.Unix(0, s.last.Load()).Add(l.timeout))
		n, err := s.up.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if l.expire(s) {
					return
				}
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				l.drop(s)
				return
			}
			continue // e.g. the server's port is not open yet (ICMP); keep the session
		}
		s.last.Store(time.Now().UnixNano())
		if _, err := l.conn.WriteToUDPAddrPort(buf[:n], s.client); err != nil && errors.Is(err, net.ErrClosed) {
			l.drop(s)
			return
		}
	}
}

// expire ends s if it has been idle for the timeout and reports whether it did.
func (l *Listener) expire(s *session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(time.Unix(0, s.last.Load())) < l.timeout {
		return false
	}
	if l.sessions[s.client] == s {
		delete(l.sessions, s.client)
	}
	_ = s.up.Close()
	return true
}

// drop removes s from the table if it is still there.
func (l *Listener) drop(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions[s.client] == s {
		delete(l.sessions, s.client)
	}
	_ = s.up.Close()
}
