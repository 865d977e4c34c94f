package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

// portRegistry hands out loopback ports that were free a moment ago, each at
// most once per test process: parallel tests bind what they were given a
// little later, and the kernel may offer a just-closed port again, so without
// it two listeners could be handed the same port.
type portRegistry struct {
	mu   sync.Mutex
	used map[int]bool
}

// ports is the test process's registry; the tests of this package share it.
var ports = &portRegistry{used: map[int]bool{}}

// reserve returns a loopback port that is free for TCP (and for UDP when
// udp is set) and was not handed out before in this process. Ports come
// from below the kernel's ephemeral range, so that no outgoing connection
// of another process (a Ferry dialling its backends, a load generator)
// takes one between its reservation and its bind.
func (r *portRegistry) reserve(tb testing.TB, udp bool) int {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	low := ephemeralLow()
	for range 1000 {
		port := minReservedPort + rand.IntN(low-minReservedPort)
		if r.used[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		free := true
		if udp {
			pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				free = false
			} else {
				_ = pc.Close()
			}
		}
		_ = ln.Close()
		if free {
			r.used[port] = true
			return port
		}
	}
	tb.Fatal("no free loopback port")
	return 0
}

// minReservedPort is the lowest port reserve hands out.
const minReservedPort = 10000

// ephemeralLow is the first port of the kernel's ephemeral range
// (net.ipv4.ip_local_port_range; 32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil || low <= minReservedPort+1000 {
		return 32768
	}
	return low
}

// reservedAddr returns "127.0.0.1:<port>" for a port from the registry.
func reservedAddr(tb testing.TB, udp bool) string {
	tb.Helper()
	return fmt.Sprintf("127.0.0.1:%d", ports.reserve(tb, udp))
}

// newLoopbackServer starts an httptest server on a port from the registry,
// so it cannot take a port handed out to a Ferry that has not bound it yet.
func newLoopbackServer(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	ln, err := net.Listen("tcp", reservedAddr(tb, false))
	if err != nil {
		tb.Fatalf("backend listen: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv
}
