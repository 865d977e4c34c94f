package tcp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/config"
)

// Guard is a TCP middleware: it admits or refuses a connection before the
// route's service is dialled. A refused connection is closed at once.
type Guard interface {
	// Admit reports whether a connection from client may go on. When it
	// does, release (which may be nil) is called once the connection ends.
	Admit(client netip.Addr) (release func(), ok bool)
}

// NamedGuard is a guard with the name of its middleware, for logs.
type NamedGuard struct {
	Name  string
	Guard Guard
}

// NewGuard builds the TCP middleware def describes; errors name the option.
func NewGuard(def *config.TCPMiddleware) (Guard, error) {
	switch {
	case def.IPAllowList != nil:
		return newAllowList(def.IPAllowList)
	case def.InFlightConn != nil:
		if def.InFlightConn.Amount <= 0 {
			return nil, fmt.Errorf("inFlightConn.amount: must be a positive number of connections, got %d", def.InFlightConn.Amount)
		}
		return &inFlightConn{max: def.InFlightConn.Amount, open: map[netip.Addr]int64{}}, nil
	}
	return nil, fmt.Errorf("want exactly one of ipAllowList or inFlightConn")
}

// allowList admits clients whose IP is in one of its ranges.
type allowList struct {
	ranges []netip.Prefix
}

func newAllowList(c *config.TCPIPAllowList) (*allowList, error) {
	if len(c.SourceRange) == 0 {
		return nil, fmt.Errorf("ipAllowList.sourceRange: empty: list the IPs and CIDRs allowed")
	}
	ranges, err := config.ParseIPRanges(c.SourceRange, "ipAllowList.sourceRange")
	if err != nil {
		return nil, err
	}
	return &allowList{ranges: ranges}, nil
}

// Admit implements Guard.
func (a *allowList) Admit(client netip.Addr) (func(), bool) {
	client = client.Unmap()
	for _, p := range a.ranges {
		if p.Contains(client) {
			return nil, true
		}
	}
	return nil, false
}

// inFlightConn bounds the connections open at once per client IP. Its
// counts belong to the middleware: routers sharing it share them, and they
// survive configuration swaps while its definition does not change.
type inFlightConn struct {
	max  int64
	mu   sync.Mutex
	open map[netip.Addr]int64
}

// Admit implements Guard.
func (f *inFlightConn) Admit(client netip.Addr) (func(), bool) {
	client = client.Unmap()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open[client] >= f.max {
		return nil, false
	}
	f.open[client]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.open[client]--; f.open[client] <= 0 {
			delete(f.open, client)
		}
	}, true
}

// Open returns the connections a client has open, for tests.
func (f *inFlightConn) Open(client netip.Addr) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[client.Unmap()]
}

// admit runs the route's guards in order. It returns the release function
// of those that admitted the connection, and false (having released them)
// when one refused it.
func (r *Route) admit(c net.Conn, log *zap.Logger) (func(), bool) {
	if len(r.Guards) == 0 {
		return func() {}, true
	}
	var client netip.Addr
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		client = a.AddrPort().Addr()
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			client = ap.Addr()
		}
	}
	releases := make([]func(), 0, len(r.Guards))
	done := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, g := range r.Guards {
		release, ok := g.Guard.Admit(client)
		if !ok {
			done()
			if ce := log.Check(zapcore.DebugLevel, "TCP connection refused by a middleware"); ce != nil {
				ce.Write(zap.String("router", r.Name), zap.String("middleware", g.Name), zap.Stringer("client", c.RemoteAddr()))
			}
			return nil, false
		}
		if release != nil {
			releases = append(releases, release)
		}
	}
	return done, true
}
