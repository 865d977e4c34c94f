// Package udp forwards datagrams between the clients of a UDP entry point
// and upstream servers. Each client address gets a session: a socket
// connected to one server, chosen by weighted round robin when the session
// starts, that carries datagrams both ways until it has been idle for the
// entry point's timeout.
package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/config"
)

// DialTimeout bounds the resolution of a server's address.
const DialTimeout = 5 * time.Second

// ErrNoServer means no server of a service could be reached.
var ErrNoServer = errors.New("no server available")

// Route binds an entry point to the service of a UDP router.
type Route struct {
	// Name is the UDP router's name.
	Name string
	// ServiceName is the name of the router's service.
	ServiceName string
	// Service receives the entry point's sessions.
	Service *LoadBalancer
}

// LoadBalancer spreads sessions over servers by weight. It is safe for
// concurrent use and keeps no reference to the routing table.
type LoadBalancer struct {
	name string
	def  *config.UDPService
	lb   *balance.Balancer[string]
}

// NewLoadBalancer builds the service of a validated loadBalancer definition.
func NewLoadBalancer(name string, def *config.UDPService) (*LoadBalancer, error) {
	if def == nil || def.LoadBalancer == nil {
		return nil, fmt.Errorf("udp: service %s: no loadBalancer", name)
	}
	nodes := make([]balance.Node[string], 0, len(def.LoadBalancer.Servers))
	for _, s := range def.LoadBalancer.Servers {
		nodes = append(nodes, balance.Node[string]{Weight: s.ServerWeight(), Value: s.Address})
	}
	b, err := balance.New("", nodes)
	if err != nil {
		return nil, fmt.Errorf("udp: service %s: %w", name, err)
	}
	return &LoadBalancer{name: name, def: def, lb: b}, nil
}

// Name returns the service's name.
func (l *LoadBalancer) Name() string { return l.name }

// Definition returns the configuration the service was built from.
func (l *LoadBalancer) Definition() *config.UDPService { return l.def }

// Dial opens a socket connected to the next server, skipping servers whose
// address does not resolve, and returns it with the server's address.
func (l *LoadBalancer) Dial(ctx context.Context) (*net.UDPConn, string, error) {
	d := net.Dialer{Timeout: DialTimeout}
	var errs []error
	for range l.lb.Len() {
		i, ok := l.lb.Next()
		if !ok {
			break
		}
		addr := l.lb.Node(i).Value
		c, err := d.DialContext(ctx, "udp", addr)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return c.(*net.UDPConn), addr, nil
	}
	if len(errs) == 0 {
		return nil, "", fmt.Errorf("udp: service %s: %w", l.name, ErrNoServer)
	}
	return nil, "", fmt.Errorf("udp: service %s: %w: %w", l.name, ErrNoServer, errors.Join(errs...))
}
