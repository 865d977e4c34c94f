package tcp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/proxyproto"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) { return tcpPairB(t) }

func tcpPairB(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

func TestPipeHalfClose(t *testing.T) {
	client, proxyIn := tcpPair(t)
	proxyOut, server := tcpPair(t)
	done := make(chan PipeResult, 1)
	go func() { done <- Pipe(proxyIn, proxyOut, PipeOptions{Idle: 10 * time.Second}) }()

	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	// The server answers only after the client has finished sending: the
	// client's half-close must reach it while the way back stays open.
	go func() {
		got, err := io.ReadAll(server)
		if err != nil {
			return
		}
		_, _ = server.Write(got)
		_ = server.CloseWrite()
	}()
	go func() {
		_, _ = client.Write(payload)
		_ = client.CloseWrite()
	}()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	back, err := io.ReadAll(client)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if !bytes.Equal(back, payload) {
		t.Fatalf("echo of %d bytes differs (got %d)", len(payload), len(back))
	}
	select {
	case res := <-done:
		if res.Up != 1<<20 || res.Down != 1<<20 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pipe did not end after both sides closed")
	}
}

func TestPipeIdle(t *testing.T) {
	t.Run("idle connection is closed", func(t *testing.T) {
		client, proxyIn := tcpPair(t)
		proxyOut, _ := tcpPair(t)
		go Pipe(proxyIn, proxyOut, PipeOptions{Idle: 200 * time.Millisecond})
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := client.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read on idle connection: %v, want EOF", err)
		}
	})
	t.Run("one busy direction keeps the other open", func(t *testing.T) {
		client, proxyIn := tcpPair(t)
		proxyOut, server := tcpPair(t)
		go Pipe(proxyIn, proxyOut, PipeOptions{Idle: 300 * time.Millisecond})
		go func() {
			for range 12 { // 1.2 s of a server-to-client stream, the client silent
				if _, err := server.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			server.Close()
		}()
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(client)
		if len(got) != 12 {
			t.Fatalf("client got %d bytes, want 12: the stream was cut while busy", len(got))
		}
	})
	t.Run("termination delay", func(t *testing.T) {
		client, proxyIn := tcpPair(t)
		proxyOut, _ := tcpPair(t) // the server never answers nor closes
		done := make(chan struct{})
		go func() {
			Pipe(proxyIn, proxyOut, PipeOptions{Idle: time.Minute, TerminationDelay: 100 * time.Millisecond})
			close(done)
		}()
		_ = client.CloseWrite()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("termination delay not applied")
		}
	})
}

func TestLoadBalancerSkipsRefusingServers(t *testing.T) {
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	headers := make(chan *proxyproto.Header, 16)
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			h, _ := proxyproto.Read(bufio.NewReader(c))
			headers <- h
			c.Close()
		}
	}()
	three := 3
	lb, err := NewLoadBalancer("db", &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{
		Servers:       []config.TCPServer{{Address: deadAddr, Weight: &three}, {Address: live.Addr().String()}},
		ProxyProtocol: &config.ProxyProtocol{Version: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	client := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.9:4242"))
	local := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:443"))
	for i := range 5 {
		up, err := lb.Dial(context.Background(), client, local)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if up.Server != live.Addr().String() {
			t.Errorf("dial %d reached %s", i, up.Server)
		}
		up.Close()
		h := <-headers
		if h == nil || h.Source != client.AddrPort() || h.Destination != local.AddrPort() {
			t.Errorf("PROXY header %+v, want source %s", h, client)
		}
	}
	if st := lb.Servers(); st[deadAddr] != "DOWN" || st[live.Addr().String()] != "UP" {
		t.Errorf("server status %v", st)
	}
}

func TestWeightedSpreadsByWeight(t *testing.T) {
	var lns []net.Listener
	var svcs []WeightedMember
	for i, w := range []int{3, 1} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		lns = append(lns, ln)
		lb, err := NewLoadBalancer("s", &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{Servers: []config.TCPServer{{Address: ln.Addr().String()}}}})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, WeightedMember{Service: lb, Weight: w})
		_ = i
	}
	w, err := NewWeighted("w", svcs)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for range 8 {
		up, err := w.Dial(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		counts[up.Server]++
		up.Close()
	}
	if counts[lns[0].Addr().String()] != 6 || counts[lns[1].Addr().String()] != 2 {
		t.Errorf("8 connections went %v, want 6 and 2", counts)
	}
}
