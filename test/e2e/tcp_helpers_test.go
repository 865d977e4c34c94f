package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/proxyproto"
)

// startFerryWithEntryPoints starts ferry like StartFerry, with extra entry
// points (YAML lines indented under entryPoints) besides "web".
func startFerryWithEntryPoints(t *testing.T, o Options, extra string) *Ferry {
	t.Helper()
	o.EntryPoints, o.FollowRedirects = extra, true
	return StartFerry(t, o)
}

// apiTCPRouter is one element of /api/tcp/routers.
type apiTCPRouter struct {
	Name   string   `json:"name"`
	Status string   `json:"status"`
	Error  []string `json:"error"`
}

// WaitTCPRouters waits until every named TCP router is enabled.
func (f *Ferry) WaitTCPRouters(names ...string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var list []apiTCPRouter
		f.APIGet("/api/tcp/routers", &list)
		enabled := map[string]bool{}
		for _, r := range list {
			enabled[r.Name] = r.Status == "enabled"
		}
		missing := ""
		for _, n := range names {
			if !enabled[n] {
				missing = n
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("TCP router %s not enabled within %s: %+v", missing, waitTimeout, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tcpServer is a loopback TCP server run by a test.
type tcpServer struct {
	ln   net.Listener
	Addr string
	wg   sync.WaitGroup
}

// startTCPServer serves every connection with handle until the test ends.
func startTCPServer(t *testing.T, ln net.Listener, handle func(net.Conn)) *tcpServer {
	t.Helper()
	s := &tcpServer{ln: ln, Addr: ln.Addr().String()}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// echoGreeting is what the echo server says before the client speaks.
const echoGreeting = "hello from echo\n"

// startEchoServer greets, then echoes every byte back until the client
// half-closes, and then half-closes its own side.
func startEchoServer(t *testing.T) *tcpServer {
	return startTCPServer(t, listenLoopback(t), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
		if _, err := io.WriteString(c, echoGreeting); err != nil {
			return
		}
		if _, err := io.Copy(c, c); err != nil {
			return
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	})
}

// startTLSBackend answers "tls-backend <SNI>\n" over TLS with its own certificate.
func startTLSBackend(t *testing.T, cert tls.Certificate) *tcpServer {
	ln := tls.NewListener(listenLoopback(t), &tls.Config{Certificates: []tls.Certificate{cert}})
	return startTCPServer(t, ln, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		fmt.Fprintf(tc, "tls-backend %s\n", tc.ConnectionState().ServerName)
	})
}

// startProxyProtocolBackend reads the PROXY header of each connection and
// answers with its source address.
func startProxyProtocolBackend(t *testing.T) *tcpServer {
	return startTCPServer(t, listenLoopback(t), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		h, err := proxyproto.Read(bufio.NewReader(c))
		if err != nil {
			fmt.Fprintf(c, "no header: %v\n", err)
			return
		}
		fmt.Fprintf(c, "v%d %s\n", h.Version, h.Source)
	})
}

// readLine reads one line from c within the wait timeout.
func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		t.Fatalf("read line: %q, %v", line, err)
	}
	return strings.TrimSuffix(line, "\n")
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
