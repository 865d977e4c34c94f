package udp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// echoServer answers every datagram with "<name>:<payload>" until the test ends.
func echoServer(t testing.TB, name string) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort(append([]byte(name+":"), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-done })
	return c.LocalAddr().String()
}

func newLB(t testing.TB, name string, servers map[string]int) *LoadBalancer {
	t.Helper()
	def := &config.UDPService{LoadBalancer: &config.UDPLoadBalancer{}}
	for addr, w := range servers {
		def.LoadBalancer.Servers = append(def.LoadBalancer.Servers, config.UDPServer{Address: addr, Weight: &w})
	}
	lb, err := NewLoadBalancer(name, def)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

// proxy is a running Listener whose route the test swaps.
type proxy struct {
	l     *Listener
	route atomic.Pointer[Route]
}

func startProxy(t testing.TB, timeout time.Duration, maxSessions int, rt *Route) *proxy {
	t.Helper()
	p := &proxy{}
	p.route.Store(rt)
	l, err := Listen(zap.NewNop(), Options{Name: "udp", Address: "127.0.0.1:0", Timeout: timeout, MaxSessions: maxSessions,
		Route: p.route.Load})
	if err != nil {
		t.Fatal(err)
	}
	p.l = l
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return p
}

// client is a UDP socket talking to the proxy.
type client struct {
	t *testing.T
	c *net.UDPConn
}

func dialProxy(t *testing.T, p *proxy) *client {
	t.Helper()
	c, err := net.DialUDP("udp", nil, p.l.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c}
}

func (c *client) addr() netip.AddrPort { return c.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// ask sends msg and returns the answer, "" when none comes within wait.
func (c *client) ask(msg string, wait time.Duration) string {
	c.t.Helper()
	if _, err := c.c.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	_ = c.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 2048)
	n, err := c.c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// server returns the name of the server that answered msg.
func (c *client) server(msg string) string {
	c.t.Helper()
	got := c.ask(msg, 2*time.Second)
	name, payload, ok := strings.Cut(got, ":")
	if !ok || payload != msg {
		c.t.Fatalf("ask %q: answer %q", msg, got)
	}
	return name
}

func waitSessions(t *testing.T, l *Listener, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for l.Sessions() != want {
		if time.Now().After(deadline) {
			t.Fatalf("sessions = %d, want %d after %s", l.Sessions(), want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSessionsPerClient(t *testing.T) {
	a := echoServer(t, "a")
	p := startProxy(t, time.Minute, 0, &Route{Name: "r", Service: newLB(t, "s", map[string]int{a: 1})})
	c1, c2 := dialProxy(t, p), dialProxy(t, p)
	for i := range 5 {
		for _, c := range []*client{c1, c2} {
			msg := fmt.Sprintf("%s-%d", c.addr(), i)
			if got := c.ask(msg, 2*time.Second); got != "a:"+msg {
				t.Fatalf("client %s: answer %q, want %q", c.addr(), got, "a:"+msg)
			}
		}
	}
	if n := p.l.Sessions(); n != 2 {
		t.Fatalf("sessions = %d, want 2 (one per client)", n)
	}
}

func TestIdleExpiry(t *testing.T) {
	a := echoServer(t, "a")
	timeout := 300 * time.Millisecond
	p := startProxy(t, timeout, 0, &Route{Name: "r", Service: newLB(t, "s", map[string]int{a: 1})})
	c := dialProxy(t, p)
	t.Run("activity keeps the session", func(t *testing.T) {
		c.server("x")
		for range 6 { // 6 x 100ms spans two timeouts
			time.Sleep(timeout / 3)
			c.server("x")
			if n := p.l.Sessions(); n != 1 {
				t.Fatalf("sessions = %d during activity, want 1", n)
			}
		}
	})
	t.Run("idle session ends", func(t *testing.T) {
		waitSessions(t, p.l, 0, 10*timeout)
		if s := p.l.Server(c.addr()); s != "" {
			t.Fatalf("client still has server %q", s)
		}
		c.server("again") // a new session starts
		waitSessions(t, p.l, 1, time.Second)
	})
}

func TestSwapKeepsSessions(t *testing.T) {
	a, b := echoServer(t, "a"), echoServer(t, "b")
	lb := newLB(t, "s", map[string]int{a: 1, b: 1})
	p := startProxy(t, time.Minute, 0, &Route{Name: "r", Service: lb})
	c1, c2 := dialProxy(t, p), dialProxy(t, p)
	s1, s2 := c1.server("1"), c2.server("2")
	if s1 == s2 {
		t.Fatalf("both sessions on %s; round robin should spread them", s1)
	}
	t.Run("same service", func(t *testing.T) {
		p.route.Store(&Route{Name: "renamed", Service: lb}) // a new table with the service carried over
		for range 4 {
			if got := c1.server("1"); got != s1 {
				t.Fatalf("client 1 moved from %s to %s", s1, got)
			}
			if got := c2.server("2"); got != s2 {
				t.Fatalf("client 2 moved from %s to %s", s2, got)
			}
		}
	})
	t.Run("changed service", func(t *testing.T) {
		p.route.Store(&Route{Name: "r", Service: newLB(t, "s", map[string]int{b: 1})})
		if got := c1.server("1"); got != "b" {
			t.Fatalf("client 1 answered by %s after its service changed to b only", got)
		}
	})
	t.Run("router removed", func(t *testing.T) {
		p.route.Store(nil)
		if got := c1.ask("1", 300*time.Millisecond); got != "" {
			t.Fatalf("answer %q without a router", got)
		}
		if got := dialProxy(t, p).ask("new", 300*time.Millisecond); got != "" {
			t.Fatalf("new client answered %q without a router", got)
		}
		if s := p.l.Server(c1.addr()); s != "" {
			t.Fatalf("client 1 still has a session on %s", s)
		}
	})
}

func TestConcurrentClients(t *testing.T) {
	a, b := echoServer(t, "a"), echoServer(t, "b")
	p := startProxy(t, time.Minute, 0, &Route{Name: "r", Service: newLB(t, "s", map[string]int{a: 1, b: 1})})
	const clients, rounds = 16, 40
	var wg sync.WaitGroup
	servers := make([]string, clients)
	for i := range clients {
		c := dialProxy(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := ""
			for j := range rounds {
				msg := fmt.Sprintf("c%d-%d", i, j)
				got := c.ask(msg, 2*time.Second)
				name, payload, _ := strings.Cut(got, ":")
				if payload != msg {
					t.Errorf("client %d: answer %q to %q", i, got, msg)
					return
				}
				if first == "" {
					first = name
				} else if name != first {
					t.Errorf("client %d moved from %s to %s", i, first, name)
					return
				}
			}
			servers[i] = first
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, s := range servers {
		count[s]++
	}
	if count["a"] != clients/2 || count["b"] != clients/2 {
		t.Fatalf("sessions per server = %v, want %d each", count, clients/2)
	}
	if n := p.l.Sessions(); n != clients {
		t.Fatalf("sessions = %d, want %d", n, clients)
	}
}

func TestMaxSessions(t *testing.T) {
	a := echoServer(t, "a")
	p := startProxy(t, time.Minute, 2, &Route{Name: "r", Service: newLB(t, "s", map[string]int{a: 1})})
	dialProxy(t, p).server("1")
	dialProxy(t, p).server("2")
	if got := dialProxy(t, p).ask("3", 300*time.Millisecond); got != "" {
		t.Fatalf("third client answered %q beyond the limit of 2 sessions", got)
	}
	if n := p.l.Sessions(); n != 2 {
		t.Fatalf("sessions = %d, want 2", n)
	}
}

func TestWeightedSessions(t *testing.T) {
	lb := newLB(t, "s", map[string]int{"127.0.0.1:1001": 3, "127.0.0.1:1002": 1})
	count := map[string]int{}
	for range 8 {
		c, server, err := lb.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		count[server]++
	}
	if count["127.0.0.1:1001"] != 6 || count["127.0.0.1:1002"] != 2 {
		t.Fatalf("sessions per server = %v, want 6 and 2", count)
	}
}

func TestServeStops(t *testing.T) {
	a := echoServer(t, "a")
	rt := &Route{Name: "r", Service: newLB(t, "s", map[string]int{a: 1})}
	l, err := Listen(zap.NewNop(), Options{Name: "udp", Address: "127.0.0.1:0", Route: func() *Route { return rt }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	c := dialProxy(t, &proxy{l: l})
	if got := c.ask("x", 2*time.Second); got != "a:x" {
		t.Fatalf("answer %q", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if n := l.Sessions(); n != 0 {
		t.Fatalf("sessions = %d after Serve returned", n)
	}
}
