package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestACMETCPRouter: a TCP router that terminates TLS and names a
// certificate resolver gets a certificate for its HostSNI name, and the
// plaintext reaches its TCP service.
func TestACMETCPRouter(t *testing.T) {
	t.Parallel()
	echo := startLineEcho(t)
	dynamic := fmt.Sprintf(`tcp:
  routers:
    db:
      rule: "HostSNI(%s)"
      entryPoints: [websecure]
      service: db
      tls:
        certResolver: pebble-http
  services:
    db:
      loadBalancer:
        servers:
          - address: %q
`, "`tcp.ferry.test`", echo)
	f, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA {
		return startPebble(t, web, secure)
	}, "", dynamic)
	f.start()

	took := f.waitValid("tcp.ferry.test", ca.Roots, issueTimeout)
	t.Logf("first valid certificate for the TCP router after %s", took)

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.Secure,
		&tls.Config{ServerName: "tcp.ferry.test", RootCAs: ca.Roots})
	if err != nil {
		t.Fatalf("TLS to the TCP router: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo through the TCP router: %q, %v", line, err)
	}
}

// startLineEcho starts a TCP server on loopback that echoes what it reads,
// until the test ends, and returns its address.
func startLineEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}
