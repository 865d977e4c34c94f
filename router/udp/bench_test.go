package udp

import (
	"net"
	"testing"
	"time"
)

// benchPingPong sends b.N datagrams of 64 bytes to addr one at a time,
// each waiting for its echo, and reports datagrams per second.
func benchPingPong(b *testing.B, addr net.Addr) {
	c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 2048)
	lost := 0
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			if lost++; lost > 10 {
				b.Fatalf("%d datagrams lost: %v", lost, err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
}

// BenchmarkPingPong compares a client exchanging datagrams with a UDP echo
// server directly and through a Listener (one session).
func BenchmarkPingPong(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		addr, err := net.ResolveUDPAddr("udp", echoServer(b, "a"))
		if err != nil {
			b.Fatal(err)
		}
		benchPingPong(b, addr)
	})
	b.Run("proxy", func(b *testing.B) {
		p := startProxy(b, time.Minute, 0, &Route{Name: "r", Service: newLB(b, "s", map[string]int{echoServer(b, "a"): 1})})
		benchPingPong(b, p.l.Addr())
	})
}
