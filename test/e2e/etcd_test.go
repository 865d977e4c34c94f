package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// etcdProviders is the providers section that reads etcd at addr.
func etcdProviders(addr string) string {
	return fmt.Sprintf("  etcd:\n    endpoints: [%q]\n    rootKey: ferry\n", addr)
}

// etcdRoute returns the keys and values of a router on host to a service
// with one server.
func etcdRoute(name, host, url string) []string {
	return []string{
		"ferry/http/routers/" + name + "/rule", "Host(`" + host + "`)",
		"ferry/http/routers/" + name + "/service", name,
		"ferry/http/services/" + name + "/loadbalancer/servers/0/url", url,
	}
}

func TestEtcdKeys(t *testing.T) {
	t.Parallel()
	e := StartEtcd(t)
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	f := StartFerryWith(t, etcdProviders(e.Addr))

	e.Put(etcdRoute("web", "web.etcd.test", a.URL)...)
	f.WaitRoute("web.etcd.test", "/", http.StatusOK, "a")

	t.Run("a transaction is one update", func(t *testing.T) {
		f := f.For(t)
		mark := f.LogMark()
		// Move the route to a new host and a new server, and add a router,
		// in one transaction: one revision, one update.
		e.Put(append(etcdRoute("web", "moved.etcd.test", b.URL),
			"ferry/http/routers/extra/rule", "Host(`extra.etcd.test`)",
			"ferry/http/routers/extra/service", "web")...)
		f.WaitRoute("moved.etcd.test", "/", http.StatusOK, "b")
		f.WaitRoute("extra.etcd.test", "/", http.StatusOK, "b")
		f.WaitRoute("web.etcd.test", "/", http.StatusNotFound, "")
		time.Sleep(300 * time.Millisecond) // room for a stray second update
		if n := f.storeCountLogs(mark, `"provider.etcd"`, "configuration sent"); n != 1 {
			t.Errorf("the transaction produced %d updates, want 1", n)
		}
	})

	t.Run("a bad key disables its router only", func(t *testing.T) {
		f := f.For(t)
		e.Put("ferry/http/routers/bad/rule", "Host(`bad.etcd.test`)",
			"ferry/http/routers/bad/service", "web",
			"ferry/http/routers/bad/priority", "high")
		var bad apiRouter
		deadline := time.Now().Add(waitTimeout)
		for {
			_, routers := f.Routers()
			bad = routers["bad@etcd"]
			if bad.Status != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if bad.Status == "enabled" || !containsAll(strings.Join(bad.Error, " "), "ferry/http/routers/bad/priority", `"high"`) {
			t.Errorf("router bad@etcd: status %q, errors %q; want disabled naming the key and its value", bad.Status, bad.Error)
		}
		f.WaitRoute("bad.etcd.test", "/", http.StatusNotFound, "")
		f.WaitRoute("moved.etcd.test", "/", http.StatusOK, "b")
	})

	t.Run("deleting keys removes the route", func(t *testing.T) {
		f := f.For(t)
		e.Delete("ferry/http/routers/extra/rule", "ferry/http/routers/extra/service")
		f.WaitRoute("extra.etcd.test", "/", http.StatusNotFound, "")
		f.WaitRoute("moved.etcd.test", "/", http.StatusOK, "b")
	})
}

func TestEtcdOutage(t *testing.T) {
	t.Parallel()
	e := StartEtcd(t)
	p := startProxy(t, e.Addr)
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	c := StartBackend(t, "c", nil)
	f := StartFerryWith(t, etcdProviders(p.Addr))
	e.Put(etcdRoute("a", "a.etcd.test", a.URL)...)
	f.WaitRoute("a.etcd.test", "/", http.StatusOK, "a")

	t.Run("partition: routes keep serving, changes made meanwhile arrive", func(t *testing.T) {
		f := f.For(t)
		mark := f.LogMark()
		p.Cut()
		f.WaitLog(mark, "saying etcd is unreachable", func(l string) bool { return strings.Contains(l, "etcd unreachable") })
		// Changes that Ferry cannot see yet.
		e.Put(etcdRoute("b", "b.etcd.test", b.URL)...)
		e.Delete("ferry/http/routers/a/rule")
		for range 10 {
			if res := f.Get("a.etcd.test", "/"); res.Status != http.StatusOK {
				t.Fatalf("a.etcd.test answered %d while etcd was unreachable; want the last routes kept", res.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		p.Restore()
		f.WaitRoute("b.etcd.test", "/", http.StatusOK, "b")
		f.WaitRoute("a.etcd.test", "/", http.StatusNotFound, "")
		f.WaitLog(mark, "saying etcd is back", func(l string) bool { return strings.Contains(l, "etcd reachable again") })
		if n := f.storeCountLogs(mark, "etcd unreachable"); n != 1 {
			t.Errorf("logged %d warnings for one outage, want 1", n)
		}
	})

	t.Run("history compacted during a partition: the keys are read again", func(t *testing.T) {
		f := f.For(t)
		mark := f.LogMark()
		p.Cut()
		f.WaitLog(mark, "saying etcd is unreachable", func(l string) bool { return strings.Contains(l, "etcd unreachable") })
		e.Put(etcdRoute("a", "a2.etcd.test", a.URL)...)
		e.Put("unrelated", "1") // compacting at a later revision drops the route's
		ctx, cancel := e.ctx()
		defer cancel()
		resp, err := e.KV.Get(ctx, "unrelated")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.KV.Compact(ctx, resp.Header.Revision); err != nil {
			t.Fatalf("compact: %v", err)
		}
		p.Restore()
		f.WaitRoute("a2.etcd.test", "/", http.StatusOK, "a")
		f.WaitRoute("b.etcd.test", "/", http.StatusOK, "b")
		f.WaitLog(mark, "saying the watch is restarted", func(l string) bool { return strings.Contains(l, "reading the keys again") })
	})

	t.Run("etcd stops and starts again", func(t *testing.T) {
		f := f.For(t)
		e.Stop()
		for range 10 {
			if res := f.Get("b.etcd.test", "/"); res.Status != http.StatusOK {
				t.Fatalf("b.etcd.test answered %d while etcd was stopped; want the last routes kept", res.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		e.Start()
		e.Put(etcdRoute("c", "c.etcd.test", c.URL)...)
		f.WaitRoute("c.etcd.test", "/", http.StatusOK, "c")
		f.WaitRoute("b.etcd.test", "/", http.StatusOK, "b")
	})
}
