package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/proxyproto"
)

// Timing of upstream connections.
const (
	// DialTimeout bounds one connection attempt to a server.
	DialTimeout = 5 * time.Second
	// refusedFor keeps a server that refused a connection out of rotation.
	refusedFor = 2 * time.Second
)

// ErrNoServer means no server of a service accepted the connection.
var ErrNoServer = errors.New("no server available")

// Upstream is a connection to a server.
type Upstream struct {
	net.Conn
	// Server is the server's address.
	Server string
	// TerminationDelay is the service's termination delay (see PipeOptions).
	TerminationDelay time.Duration
}

// Service opens connections to servers. Implementations are safe for
// concurrent use and keep no reference to the routing table.
type Service interface {
	// Dial connects to the next server for a client connection whose
	// addresses are client (remote) and local, skipping servers that refuse,
	// and sends the PROXY header the service asks for.
	Dial(ctx context.Context, client, local net.Addr) (*Upstream, error)
}

// LoadBalancer spreads connections over servers by weight.
type LoadBalancer struct {
	name         string
	def          *config.TCPService
	lb           *balance.Balancer[*server]
	proxyVersion int
	delay        time.Duration
	transport    *Transport             // nil: plain TCP, default timeouts (transport.go)
	tlsByAddr    map[string]*tls.Config // by server address, when the transport has TLS
}

type server struct {
	addr      string
	downUntil atomic.Int64 // unix nanoseconds; the server refused until then
}

func (s *server) health() balance.Availability {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return balance.Unavailable
	}
	return balance.Available
}

// NewLoadBalancer builds the service of a validated loadBalancer definition.
func NewLoadBalancer(name string, def *config.TCPService) (*LoadBalancer, error) {
	lbDef := def.LoadBalancer
	if lbDef == nil {
		return nil, fmt.Errorf("tcp: service %s: no loadBalancer", name)
	}
	nodes := make([]balance.Node[*server], 0, len(lbDef.Servers))
	for _, s := range lbDef.Servers {
		srv := &server{addr: s.Address}
		nodes = append(nodes, balance.Node[*server]{Weight: s.ServerWeight(), Value: srv, Health: srv.health})
	}
	b, err := balance.New("", nodes)
	if err != nil {
		return nil, fmt.Errorf("tcp: service %s: %w", name, err)
	}
	return &LoadBalancer{name: name, def: def, lb: b, proxyVersion: lbDef.ProxyProtocolVersion(),
		delay: time.Duration(lbDef.TerminationDelay)}, nil
}

// Definition returns the configuration the service was built from.
func (l *LoadBalancer) Definition() *config.TCPService { return l.def }

// Servers returns each server's address with UP, or DOWN while it is kept
// out of rotation after refusing a connection.
func (l *LoadBalancer) Servers() map[string]string {
	out := make(map[string]string, l.lb.Len())
	for i := range l.lb.Len() {
		s := l.lb.Node(i).Value
		if s.health() == balance.Available {
			out[s.addr] = "UP"
		} else {
			out[s.addr] = "DOWN"
		}
	}
	return out
}

// Dial implements Service.
func (l *LoadBalancer) Dial(ctx context.Context, client, local net.Addr) (*Upstream, error) {
	var errs []error
	for range l.lb.Len() {
		i, ok := l.lb.Next()
		if !ok {
			break
		}
		srv := l.lb.Node(i).Value
		c, err := l.connect(ctx, srv.addr, client, local)
		if err != nil {
			srv.downUntil.Store(time.Now().Add(refusedFor).UnixNano())
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return &Upstream{Conn: c, Server: srv.addr, TerminationDelay: l.delay}, nil
	}
	if len(errs) == 0 && ctx.Err() == nil {
		// Every server refused recently: try them all again rather than fail.
		for i := range l.lb.Len() {
			n := l.lb.Node(i)
			if n.Weight <= 0 {
				continue
			}
			c, err := l.connect(ctx, n.Value.addr, client, local)
			if err == nil {
				n.Value.downUntil.Store(0)
				return &Upstream{Conn: c, Server: n.Value.addr, TerminationDelay: l.delay}, nil
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("tcp: service %s: %w", l.name, ErrNoServer)
	}
	return nil, fmt.Errorf("tcp: service %s: %w: %w", l.name, ErrNoServer, errors.Join(errs...))
}

func writeProxyHeader(c net.Conn, version int, client, local net.Addr) error {
	h := proxyproto.Header{Version: version, Source: addrPort(client), Destination: addrPort(local)}
	b, err := h.Append(make([]byte, 0, 64))
	if err != nil {
		return err
	}
	_ = c.SetWriteDeadline(time.Now().Add(DialTimeout))
	_, err = c.Write(b)
	_ = c.SetWriteDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("write PROXY header: %w", err)
	}
	return nil
}

// addrPort returns a TCP address as netip.AddrPort (invalid when unknown).
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// ClientIP returns the address of a remote net.Addr, unmapped; the zero
// Addr when unknown.
func ClientIP(a net.Addr) netip.Addr { return addrPort(a).Addr().Unmap() }

// Weighted spreads connections over other services by weight.
type Weighted struct {
	name string
	lb   *balance.Balancer[Service]
}

// WeightedMember is one service of a Weighted service.
type WeightedMember struct {
	Service Service
	Weight  int
}

// NewWeighted returns a weighted service over members.
func NewWeighted(name string, members []WeightedMember) (*Weighted, error) {
	nodes := make([]balance.Node[Service], len(members))
	for i, m := range members {
		nodes[i] = balance.Node[Service]{Weight: m.Weight, Value: m.Service}
	}
	b, err := balance.New("", nodes)
	if err != nil {
		return nil, fmt.Errorf("tcp: service %s: %w", name, err)
	}
	return &Weighted{name: name, lb: b}, nil
}

// Dial implements Service: the next member is tried, then the others.
func (w *Weighted) Dial(ctx context.Context, client, local net.Addr) (*Upstream, error) {
	var errs []error
	for range w.lb.Len() {
		i, ok := w.lb.Next()
		if !ok {
			break
		}
		up, err := w.lb.Node(i).Value.Dial(ctx, client, local)
		if err == nil {
			return up, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("tcp: service %s: %w", w.name, ErrNoServer)
	}
	return nil, errors.Join(errs...)
}
