package e2e

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// tcpProxy forwards a loopback address (or a unix socket) to a target, and
// can cut every connection and refuse new ones for a while: a network
// partition between Ferry and a store or engine that the test itself still
// reaches.
type tcpProxy struct {
	t       testing.TB
	network string // "tcp" or "unix"
	Addr    string // host:port, or the socket's path
	target  string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// startProxy listens on a free loopback port and forwards to target until
// the test ends.
func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	return startForward(t, "tcp", reservedAddr(t, false), target)
}

// startSocketProxy forwards a new unix socket in a temporary directory to the
// socket at target until the test ends.
func startSocketProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	return startForward(t, "unix", filepath.Join(t.TempDir(), "proxy.sock"), target)
}

func startForward(t testing.TB, network, addr, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, network: network, Addr: addr, target: target, conns: map[net.Conn]bool{}}
	p.Restore()
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial(p.network, p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes the listener and every connection.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Restore listens (again) on the proxy's address.
func (p *tcpProxy) Restore() {
	p.t.Helper()
	if p.network == "unix" {
		_ = os.Remove(p.Addr)
	}
	ln, err := net.Listen(p.network, p.Addr)
	if err != nil {
		p.t.Fatalf("proxy listen again on %s: %v", p.Addr, err)
	}
	p.serve(ln)
}
