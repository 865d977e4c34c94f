package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// socketProxy forwards a unix socket to the engine's; closing it makes the
// engine vanish for whoever talks through it (socket gone, streams cut),
// without disturbing the engine itself.
type socketProxy struct {
	t      *testing.T
	path   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newSocketProxy(t *testing.T, target string) *socketProxy {
	p := &socketProxy{t: t, path: filepath.Join(t.TempDir(), "docker.sock"), target: target, conns: map[net.Conn]bool{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *socketProxy) start() {
	p.t.Helper()
	_ = os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
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
			up, err := net.Dial("unix", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the socket and every connection through it.
func (p *socketProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.wg.Wait()
	_ = os.Remove(p.path)
}

// TestDockerEngineOutage cuts Ferry off from the engine: the last routes keep
// serving, the outage is logged once, and what changed meanwhile and after
// is picked up when the engine is back.
func TestDockerEngineOutage(t *testing.T) {
	e := newDockerEnv(t)
	if !strings.HasPrefix(e.Host, "unix://") {
		t.Skipf("engine at %s is not a unix socket", e.Host)
	}
	proxy := newSocketProxy(t, strings.TrimPrefix(e.Host, "unix://"))
	n := e.network("outage")
	f := startDockerFerry(t, "unix://"+proxy.path, "    network: "+n)

	a := e.start(ctrSpec{Name: e.name("before"), Networks: []string{n}, Labels: appLabels("ferry", "before", "before.test")})
	defer a.remove()
	f.WaitRoute("before.test", "/", http.StatusOK, a.Name)

	mark := f.LogMark()
	proxy.stop()
	f.WaitLog(mark, "about the lost engine", func(l string) bool { return strings.Contains(l, "engine unreachable") })

	b := e.start(ctrSpec{Name: e.name("during"), Networks: []string{n}, Labels: appLabels("ferry", "during", "during.test")})
	defer b.remove()
	// Through several reconnect attempts the last routes keep serving.
	for range 15 {
		if res := f.Get("before.test", "/"); res.Status != http.StatusOK || res.Backend() != a.Name {
			t.Fatalf("during the outage: status %d from %q, want 200 from %s", res.Status, res.Backend(), a.Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := strings.Count(f.Logs()[mark:], "engine unreachable"); got != 1 {
		t.Errorf("the outage was logged %d times, want once", got)
	}

	mark = f.LogMark()
	proxy.start()
	f.WaitLog(mark, "about the reconnection", func(l string) bool { return strings.Contains(l, "reconnected") })
	f.WaitRoute("during.test", "/", http.StatusOK, b.Name)

	c := e.start(ctrSpec{Name: e.name("after"), Networks: []string{n}, Labels: appLabels("ferry", "after", "after.test")})
	defer c.remove()
	f.WaitRoute("after.test", "/", http.StatusOK, c.Name)
	a.stop(5 * time.Second)
	f.waitGone("before", "before.test")
}
