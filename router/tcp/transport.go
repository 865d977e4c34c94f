package tcp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// Transport is how a load balancer connects to its servers: the resolved
// settings of a tcp.serversTransports entry, or of the static
// tcpServersTransport section. It is immutable once built, and shared by
// every service that names it.
type Transport struct {
	// DialTimeout bounds connecting, the PROXY header and the TLS handshake
	// together (zero: DialTimeout).
	DialTimeout time.Duration
	// KeepAlive is the interval of TCP keep-alive probes (zero: Go's
	// default, 15s; negative: none).
	KeepAlive time.Duration
	// TerminationDelay applies to services that set none of their own.
	TerminationDelay time.Duration
	// ProxyProtocol is the PROXY header version sent by services that set
	// none of their own (0: none).
	ProxyProtocol int
	// TLS, when not nil, makes connections to servers TLS connections. An
	// empty ServerName is replaced by the host of each server's address.
	TLS *tls.Config
}

// NewLoadBalancerWith builds the service of a validated loadBalancer
// definition whose servers are reached through tr (nil: plain TCP with
// the default dial timeout). The definition's own proxyProtocol and
// terminationDelay win over the transport's.
func NewLoadBalancerWith(name string, def *config.TCPService, tr *Transport) (*LoadBalancer, error) {
	l, err := NewLoadBalancer(name, def)
	if err != nil || tr == nil {
		return l, err
	}
	l.transport = tr
	lbDef := def.LoadBalancer
	if lbDef.ProxyProtocol == nil {
		l.proxyVersion = tr.ProxyProtocol
	}
	if lbDef.TerminationDelay == 0 {
		l.delay = tr.TerminationDelay
	}
	if tr.TLS != nil {
		l.tlsByAddr = make(map[string]*tls.Config, l.lb.Len())
		for i := range l.lb.Len() {
			addr := l.lb.Node(i).Value.addr
			conf := tr.TLS
			if conf.ServerName == "" {
				conf = conf.Clone()
				conf.ServerName, _, _ = net.SplitHostPort(addr)
			}
			l.tlsByAddr[addr] = conf
		}
	}
	return l, nil
}

// Transport returns the transport the service was built with, nil for the
// plain default.
func (l *LoadBalancer) Transport() *Transport { return l.transport }

// connect opens a connection to the server at addr for a client whose
// addresses are client and local: it dials, sends the PROXY header the
// service asks for, then does the TLS handshake when the transport has TLS.
func (l *LoadBalancer) connect(ctx context.Context, addr string, client, local net.Addr) (net.Conn, error) {
	timeout := DialTimeout
	d := net.Dialer{}
	if tr := l.transport; tr != nil {
		if tr.DialTimeout > 0 {
			timeout = tr.DialTimeout
		}
		d.KeepAlive = tr.KeepAlive
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if l.proxyVersion > 0 {
		if err := writeProxyHeader(c, l.proxyVersion, client, local); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	conf := l.tlsByAddr[addr]
	if conf == nil {
		return c, nil
	}
	tc := tls.Client(c, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
