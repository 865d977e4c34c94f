package e2e

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startUDPEcho answers every datagram with "<name>:<payload>" until the test ends.
func startUDPEcho(t *testing.T, name string) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort(append([]byte(name+":"), buf[:n]...), from)
		}
	})
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return c.LocalAddr().String()
}

// udpClient is one client address talking to a UDP entry point.
type udpClient struct {
	t *testing.T
	c *net.UDPConn
}

func dialUDP(t *testing.T, addr string) *udpClient {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpClient{t: t, c: c}
}

// ask sends msg and returns the answer, "" when none comes within wait.
func (u *udpClient) ask(msg string, wait time.Duration) string {
	u.t.Helper()
	if _, err := u.c.Write([]byte(msg)); err != nil {
		u.t.Fatalf("send: %v", err)
	}
	_ = u.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := u.c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// server sends msg and returns the name of the echo server that answered it.
func (u *udpClient) server(msg string) string {
	u.t.Helper()
	got := u.ask(msg, 2*time.Second)
	name, payload, ok := strings.Cut(got, ":")
	if !ok || payload != msg {
		u.t.Fatalf("ask %q: answer %q", msg, got)
	}
	return name
}

// apiUDPObject is one element of /api/udp/routers or /api/udp/services.
type apiUDPObject struct {
	Name         string   `json:"name"`
	Status       string   `json:"status"`
	Error        []string `json:"error"`
	LoadBalancer *struct {
		Servers []struct {
			Address string `json:"address"`
		} `json:"servers"`
	} `json:"loadBalancer"`
}

// waitUDP polls an API list (/api/udp/routers or /api/udp/services) until
// ok accepts it.
func (f *Ferry) waitUDP(path string, ok func(map[string]apiUDPObject) bool) map[string]apiUDPObject {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var list []apiUDPObject
		f.APIGet(path, &list)
		byName := make(map[string]apiUDPObject, len(list))
		for _, o := range list {
			byName[o.Name] = o
		}
		if ok(byName) {
			return byName
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s did not reach the expected state within %s: %+v", path, waitTimeout, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
