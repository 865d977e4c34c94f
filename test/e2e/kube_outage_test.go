package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKubeAPIServerOutage: the API server stopped for 10 s, no request
// through Ferry fails; restarted, a changed route is applied.
func TestKubeAPIServerOutage(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	bs := startKubeBackends(t, "outage", 2)
	k.CreateService(t, ns, "one", bs[0].Port, nil)
	k.SetEndpoints(t, ns, "one", bs[0].Port, epsOf(bs[0]))
	k.CreateService(t, ns, "two", bs[1].Port, nil)
	k.SetEndpoints(t, ns, "two", bs[1].Port, epsOf(bs[1]))
	f := k.StartFerry(t, ns, Options{}, "")
	host := "outage.kube.test"
	k.Apply(t, ingressYAML(ns, "web", host, "one", nil))
	f.WaitRoute(host, "/", http.StatusOK, "outage-0")

	stop := make(chan struct{})
	load := startKubeLoad(f, host, stop, 20000)
	mark := f.LogMark()
	k.StopAPIServer(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted { // leave the API server up for the next tests
			k.StartAPIServer(t)
		}
	})
	down := time.Now()
	time.Sleep(10 * time.Second)
	f.WaitLog(mark, "a list/watch warning", func(l string) bool {
		return strings.Contains(l, "the last routes keep serving")
	})
	k.StartAPIServer(t)
	restarted = true
	t.Logf("API server down for %s (stopped, 10 s, restarted until ready)", time.Since(down).Round(time.Millisecond))
	close(stop)
	load.wait()
	if n := load.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during the outage; last: %v", n, load.sent.Load(), load.err())
	}
	t.Logf("%d requests during the outage, %d failed", load.sent.Load(), load.failed.Load())

	start := time.Now()
	k.Apply(t, ingressYAML(ns, "web", host, "two", nil))
	applied := time.Now()
	f.WaitRoute(host, "/", http.StatusOK, "outage-1")
	t.Logf("after the restart: changed route served %s after kubectl apply returned (apply took %s)",
		time.Since(applied).Round(time.Millisecond), applied.Sub(start).Round(time.Millisecond))
}
