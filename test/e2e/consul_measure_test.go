package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// propagationTrials is how many changes each propagation test times.
const propagationTrials = 30

// storePropagation runs n trials: change(i) makes a new host routable in
// a store and returns it once the store acknowledged the write; the time
// from then to the first 200 through Ferry is recorded. It fails the test
// when a change does not arrive within waitTimeout, and logs p50 and p95
// (run with -v to see them; nothing asserts on the figures).
func (f *Ferry) storePropagation(what string, n int, change func(i int) string) {
	f.t.Helper()
	var times []time.Duration
	for i := range n {
		host := change(i)
		start := time.Now()
		for {
			res, err := f.Do(http.MethodGet, host, "/", nil)
			if err == nil && res.Status == http.StatusOK {
				break
			}
			if time.Since(start) > waitTimeout {
				f.t.Fatalf("%s: trial %d: %s not served within %s", what, i, host, waitTimeout)
			}
			time.Sleep(time.Millisecond)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	p50 := times[len(times)/2]
	p95 := times[(len(times)*95+99)/100-1]
	f.t.Logf("%s propagation over %d trials: p50 %s, p95 %s, max %s", what, n,
		p50.Round(time.Millisecond), p95.Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
}

func TestConsulPropagation(t *testing.T) {
	t.Parallel()
	c := StartConsul(t)
	a := StartBackend(t, "a", nil)
	f := StartFerryWith(t, consulCatalogProviders(c.Addr)+consulKVProviders(c.Addr))
	t.Run("catalog", func(t *testing.T) {
		f.For(t).storePropagation("consul catalog", propagationTrials, func(i int) string {
			name := fmt.Sprintf("prop-%d", i)
			c.Register(name, name+"-1", a, webTags(name, name+".consul.test")...)
			return name + ".consul.test"
		})
	})
	t.Run("kv", func(t *testing.T) {
		f.For(t).storePropagation("consul kv", propagationTrials, func(i int) string {
			name := fmt.Sprintf("kv-%d", i)
			ops := api.KVTxnOps{
				{Verb: api.KVSet, Key: "ferry/http/routers/" + name + "/rule", Value: []byte("Host(`" + name + ".kv.test`)")},
				{Verb: api.KVSet, Key: "ferry/http/routers/" + name + "/service", Value: []byte(name)},
				{Verb: api.KVSet, Key: "ferry/http/services/" + name + "/loadbalancer/servers/0/url", Value: []byte(a.URL)},
			}
			if ok, _, _, err := c.API.KV().Txn(ops, nil); err != nil || !ok {
				t.Fatalf("consul kv txn: %v %v", ok, err)
			}
			return name + ".kv.test"
		})
	})
}

// TestConsulScale registers 1,000 services and reports how long until all
// serve and Ferry's memory after. It runs when FERRY_E2E_SCALE is set.
func TestConsulScale(t *testing.T) {
	if os.Getenv("FERRY_E2E_SCALE") == "" {
		t.Skip("set FERRY_E2E_SCALE=1 to register 1,000 services")
	}
	const n = 1000
	c := StartConsul(t)
	a := StartBackend(t, "a", nil)
	f := StartFerryWith(t, consulCatalogProviders(c.Addr))
	host := func(i int) string { return fmt.Sprintf("s%d.scale.test", i) }
	idle := rss(t, f.cmd.Process.Pid)
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("s%d", i)
				c.Register(name, name+"-1", a, webTags(name, host(i))...)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	registered := time.Since(start)
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(pending) > 0 {
		var still []int
		for _, i := range pending {
			res, err := f.Do(http.MethodGet, host(i), "/", nil)
			if err != nil || res.Status != http.StatusOK {
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d services not served after 2 minutes", len(pending), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	all := time.Since(start)
	t.Logf("%d services: registered in %s, all served %s after the first registration; ferry RSS %s (%s before)",
		n, registered.Round(time.Millisecond), all.Round(time.Millisecond), rss(t, f.cmd.Process.Pid), idle)
}

// rss returns the resident memory of process pid, as /proc reports it.
func rss(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
