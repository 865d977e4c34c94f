package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// consulCatalogProviders is the providers section that reads the catalog
// of the agent at addr.
func consulCatalogProviders(addr string) string {
	return fmt.Sprintf("  consulCatalog:\n    endpoint:\n      address: %q\n", addr)
}

// consulKVProviders is the providers section that reads KV keys under
// ferry/ on the agent at addr.
func consulKVProviders(addr string) string {
	return fmt.Sprintf("  consul:\n    endpoints: [%q]\n    rootKey: ferry\n", addr)
}

// webTags are the tags of an enabled service whose router, named after
// the service, matches host.
func webTags(service, host string) []string {
	return []string{"ferry.enable=true", "ferry.http.routers." + service + ".rule=Host(`" + host + "`)"}
}

func TestConsulCatalog(t *testing.T) {
	t.Parallel()
	c := StartConsul(t)
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	f := StartFerryWith(t, consulCatalogProviders(c.Addr))
	// Only the agent's own service exists, and it is not exposed: the first
	// (empty) update still comes at once, not after the 3s fallback.
	for deadline := time.Now().Add(2 * time.Second); f.storeCountLogs(0, `"provider.consulcatalog"`, "configuration sent") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no first update from the catalog within 2s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	c.Register("web", "web-a", a, webTags("web", "web.consul.test")...)
	c.Register("web", "web-b", b, webTags("web", "web.consul.test")...)

	t.Run("both instances serve", func(t *testing.T) {
		f.For(t).storeWait("web.consul.test", 20, "a", "b")
	})

	t.Run("a failing instance leaves rotation and comes back", func(t *testing.T) {
		f := f.For(t)
		c.SetCheck("web-a", api.HealthWarning) // strictChecks default: passing and warning serve
		time.Sleep(300 * time.Millisecond)
		f.storeWait("web.consul.test", 20, "a", "b")
		c.SetCheck("web-a", api.HealthCritical)
		f.storeWait("web.consul.test", 20, "b")
		c.SetCheck("web-a", api.HealthPassing)
		f.storeWait("web.consul.test", 20, "a", "b")
	})

	t.Run("a tag change changes the rule", func(t *testing.T) {
		f := f.For(t)
		c.Deregister("web-b")
		f.storeWait("web.consul.test", 10, "a")
		c.Register("web", "web-a", a, webTags("web", "renamed.consul.test")...)
		f.WaitRoute("renamed.consul.test", "/", http.StatusOK, "a")
		f.WaitRoute("web.consul.test", "/", http.StatusNotFound, "")
	})

	t.Run("a service without tags is not exposed", func(t *testing.T) {
		f := f.For(t)
		c.Register("plain", "plain-1", b)
		c.Register("marker", "marker-1", b, webTags("marker", "marker.consul.test")...)
		f.WaitRoute("marker.consul.test", "/", http.StatusOK, "b")
		if res := f.Get("plain", "/"); res.Status != http.StatusNotFound {
			t.Errorf("untagged service answered %d, want 404 (exposedByDefault is false)", res.Status)
		}
		c.Deregister("marker-1")
		c.Deregister("plain-1")
	})

	t.Run("service meta configures like tags", func(t *testing.T) {
		f := f.For(t)
		port, _ := strconv.Atoi(portOf(t, b.Addr))
		err := c.API.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "meta-1", Name: "meta", Address: "127.0.0.1", Port: port,
			Meta: map[string]string{"ferry_enable": "true", "ferry_http_routers_meta_rule": "Host(`meta.consul.test`)"}})
		if err != nil {
			t.Fatal(err)
		}
		f.WaitRoute("meta.consul.test", "/", http.StatusOK, "b")
		c.Deregister("meta-1")
		f.WaitRoute("meta.consul.test", "/", http.StatusNotFound, "")
	})

	t.Run("a bad tag disables its service's router, the rest serves", func(t *testing.T) {
		f := f.For(t)
		c.Register("bad", "bad-1", b, "ferry.enable=true", "ferry.http.routers.bad.rule=Host(`bad.consul.test`)",
			"ferry.http.routers.bad.priority=high")
		mark := f.LogMark()
		var bad apiRouter
		deadline := time.Now().Add(waitTimeout)
		for bad.Status == "" && time.Now().Before(deadline) {
			_, routers := f.Routers()
			bad = routers["bad@consulcatalog"]
			time.Sleep(50 * time.Millisecond)
		}
		if bad.Status == "enabled" || !containsAll(strings.Join(bad.Error, " "), "ferry.http.routers.bad.priority", `"high"`) {
			t.Errorf("router bad@consulcatalog: status %q, errors %q; want disabled naming the tag and its value", bad.Status, bad.Error)
		}
		// The log names the service and instance the tag came from.
		f.WaitLog(mark, "naming the bad tag's service", func(l string) bool {
			return containsAll(l, "bad@consulcatalog", "priority", "high", `consul service \"bad\" instance \"bad-1\"`)
		})
		f.WaitRoute("renamed.consul.test", "/", http.StatusOK, "a")
		c.Deregister("bad-1")
	})

	t.Run("deregistering removes the route", func(t *testing.T) {
		f := f.For(t)
		c.Deregister("web-a")
		f.WaitRoute("renamed.consul.test", "/", http.StatusNotFound, "")
	})
}

func TestConsulKV(t *testing.T) {
	t.Parallel()
	c := StartConsul(t)
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	f := StartFerryWith(t, consulKVProviders(c.Addr))

	c.Put("ferry/http/routers/web/rule", "Host(`web.kv.test`)")
	c.Put("ferry/http/routers/web/service", "web")
	c.Put("ferry/http/services/web/loadbalancer/servers/0/url", a.URL)
	f.WaitRoute("web.kv.test", "/", http.StatusOK, "a")

	t.Run("a transaction is one update", func(t *testing.T) {
		f := f.For(t)
		mark := f.LogMark()
		ops := api.KVTxnOps{
			{Verb: api.KVSet, Key: "ferry/http/routers/web/rule", Value: []byte("Host(`moved.kv.test`)")},
			{Verb: api.KVSet, Key: "ferry/http/services/web/loadbalancer/servers/0/url", Value: []byte(b.URL)},
			{Verb: api.KVSet, Key: "ferry/http/routers/extra/rule", Value: []byte("Host(`extra.kv.test`)")},
			{Verb: api.KVSet, Key: "ferry/http/routers/extra/service", Value: []byte("web")},
		}
		ok, resp, _, err := c.API.KV().Txn(ops, nil)
		if err != nil || !ok {
			t.Fatalf("consul kv txn: ok %v, %v, %+v", ok, err, resp)
		}
		f.WaitRoute("moved.kv.test", "/", http.StatusOK, "b")
		f.WaitRoute("extra.kv.test", "/", http.StatusOK, "b")
		f.WaitRoute("web.kv.test", "/", http.StatusNotFound, "")
		time.Sleep(300 * time.Millisecond) // room for a stray second update
		if n := f.storeCountLogs(mark, `"provider.consul"`, "configuration sent"); n != 1 {
			t.Errorf("the transaction produced %d updates, want 1", n)
		}
	})

	t.Run("a bad key disables its router only", func(t *testing.T) {
		f := f.For(t)
		c.Put("ferry/http/routers/bad/rule", "Host(`bad.kv.test`)")
		c.Put("ferry/http/routers/bad/service", "web")
		c.Put("ferry/http/routers/bad/priority", "high")
		var bad apiRouter
		deadline := time.Now().Add(waitTimeout)
		for bad.Status == "" && time.Now().Before(deadline) {
			_, routers := f.Routers()
			bad = routers["bad@consul"]
			time.Sleep(50 * time.Millisecond)
		}
		if bad.Status == "enabled" || !containsAll(strings.Join(bad.Error, " "), "ferry/http/routers/bad/priority", `"high"`) {
			t.Errorf("router bad@consul: status %q, errors %q; want disabled naming the key and its value", bad.Status, bad.Error)
		}
		f.WaitRoute("moved.kv.test", "/", http.StatusOK, "b")
	})

	t.Run("deleting a key removes the route", func(t *testing.T) {
		f := f.For(t)
		c.Delete("ferry/http/routers/extra/rule")
		f.WaitRoute("extra.kv.test", "/", http.StatusNotFound, "")
		f.WaitRoute("moved.kv.test", "/", http.StatusOK, "b")
	})
}

// TestConsulOutage stops the agent under Ferry: the last routes keep
// serving, one warning is logged, and after a restart (a dev agent starts
// empty) what is registered then is served.
func TestConsulOutage(t *testing.T) {
	t.Parallel()
	c := StartConsul(t)
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	f := StartFerryWith(t, consulCatalogProviders(c.Addr)+consulKVProviders(c.Addr))
	c.Register("svc-a", "svc-a-1", a, "ferry.enable=true", "ferry.http.routers.a.rule=Host(`a.outage.test`)")
	c.Put("ferry/http/routers/kv/rule", "Host(`kv.outage.test`)")
	c.Put("ferry/http/routers/kv/service", "kv")
	c.Put("ferry/http/services/kv/loadbalancer/servers/0/url", a.URL)
	f.WaitRoute("a.outage.test", "/", http.StatusOK, "a")
	f.WaitRoute("kv.outage.test", "/", http.StatusOK, "a")

	mark := f.LogMark()
	c.Stop()
	f.WaitLog(mark, "saying the catalog is unreachable", func(l string) bool { return strings.Contains(l, "consul catalog unreachable") })
	f.WaitLog(mark, "saying consul kv is unreachable", func(l string) bool { return strings.Contains(l, "consul kv unreachable") })
	for range 10 {
		for _, host := range []string{"a.outage.test", "kv.outage.test"} {
			if res := f.Get(host, "/"); res.Status != http.StatusOK {
				t.Fatalf("%s answered %d while consul was stopped; want the last routes kept", host, res.Status)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Start()
	c.Register("svc-b", "svc-b-1", b, "ferry.enable=true", "ferry.http.routers.b.rule=Host(`b.outage.test`)")
	c.Put("ferry/http/routers/kv/rule", "Host(`kv2.outage.test`)")
	c.Put("ferry/http/routers/kv/service", "kv")
	c.Put("ferry/http/services/kv/loadbalancer/servers/0/url", b.URL)
	f.WaitRoute("b.outage.test", "/", http.StatusOK, "b")
	f.WaitRoute("kv2.outage.test", "/", http.StatusOK, "b")
	// The restarted dev agent forgot svc-a: Ferry follows.
	f.WaitRoute("a.outage.test", "/", http.StatusNotFound, "")
	f.WaitLog(mark, "saying the catalog is back", func(l string) bool { return strings.Contains(l, "consul catalog reachable again") })
	for _, what := range []string{"consul catalog unreachable", "consul kv unreachable"} {
		if n := f.storeCountLogs(mark, what); n != 1 {
			t.Errorf("logged %q %d times for one outage, want once", what, n)
		}
	}
}

// TestConsulToken reads an agent whose ACLs deny everything without a
// token: with the token configured, the catalog and KV are served.
func TestConsulToken(t *testing.T) {
	t.Parallel()
	const token = "3f1ee1a4-9c55-4d55-9a35-6a7bfa6c1c2e"
	c := startConsul(t, token, fmt.Sprintf(
		`acl { enabled = true, default_policy = "deny", tokens { initial_management = %q, agent = %q } }`, token, token))
	a := StartBackend(t, "a", nil)
	with := fmt.Sprintf("  consulCatalog:\n    endpoint:\n      address: %q\n      token: %q\n"+
		"  consul:\n    endpoints: [%q]\n    token: %q\n", c.Addr, token, c.Addr, token)
	f := StartFerryWith(t, with)
	without := StartFerryWith(t, consulCatalogProviders(c.Addr))

	c.Register("secret", "secret-1", a, webTags("secret", "secret.consul.test")...)
	c.Put("ferry/http/routers/kv/rule", "Host(`kv.token.test`)")
	c.Put("ferry/http/routers/kv/service", "secret@consulcatalog")
	f.WaitRoute("secret.consul.test", "/", http.StatusOK, "a")
	f.WaitRoute("kv.token.test", "/", http.StatusOK, "a")
	if res := without.Get("secret.consul.test", "/"); res.Status != http.StatusNotFound {
		t.Errorf("without the token: status %d, want 404 (the agent shows nothing)", res.Status)
	}
}
