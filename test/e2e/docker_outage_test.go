package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDockerEngineOutage cuts Ferry off from the engine: the last routes keep
// serving, the outage is logged once, and what changed meanwhile and after
// is picked up when the engine is back.
func TestDockerEngineOutage(t *testing.T) {
	e := newDockerEnv(t)
	if !strings.HasPrefix(e.Host, "unix://") {
		t.Skipf("engine at %s is not a unix socket", e.Host)
	}
	proxy := startSocketProxy(t, strings.TrimPrefix(e.Host, "unix://"))
	n := e.network("outage")
	f := startDockerFerry(t, "unix://"+proxy.Addr, "    network: "+n)

	a := e.start(ctrSpec{Name: e.name("before"), Networks: []string{n}, Labels: appLabels("ferry", "before", "before.test")})
	defer a.remove()
	f.WaitRoute("before.test", "/", http.StatusOK, a.Name)

	mark := f.LogMark()
	proxy.Cut()
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
	proxy.Restore()
	f.WaitLog(mark, "about the reconnection", func(l string) bool { return strings.Contains(l, "reconnected") })
	f.WaitRoute("during.test", "/", http.StatusOK, b.Name)

	c := e.start(ctrSpec{Name: e.name("after"), Networks: []string{n}, Labels: appLabels("ferry", "after", "after.test")})
	defer c.remove()
	f.WaitRoute("after.test", "/", http.StatusOK, c.Name)
	a.stop(5 * time.Second)
	f.waitGone("before", "before.test")
}
