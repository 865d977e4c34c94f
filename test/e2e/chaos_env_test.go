package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Hosts of the routes the load requests. Each provider has one route that
// only the phase disturbing that provider touches.
const (
	chaosFileHost   = "stable.file.test"
	chaosFlakyHost  = "flaky.file.test"
	chaosDockerHost = "stable.docker.test"
	chaosConsulHost = "stable.consul.test"
	chaosEtcdHost   = "stable.etcd.test"
)

// chaosAttacks name the hostile clients of the last phase, in their order.
// Each attacks a service of its own (g-<attack>, host <attack>.guarded.test)
// with a passive health check and a circuit breaker, used by legitimate
// clients too, so that an ejection or an open breaker points at one kind
// of client.
func chaosAttacks() []string {
	return []string{"chunked", "abandon", "stall", "slowloris", "oversize", "rapidreset"}
}

// guardedHost is the host of an attack's service.
func guardedHost(attack string) string { return attack + ".guarded.test" }

// chaosReadTimeout is the edge entry point's readTimeout and
// readHeaderTimeout: a stalled body or header is cut after this long.
const chaosReadTimeout = 2 * time.Second

// chaosEnv is Ferry with its providers' stores, engine and backends.
type chaosEnv struct {
	cfg chaosSettings
	f   *Ferry
	// Edge is the entry point the load and the hostile clients use.
	Edge   string
	docker *dockerEnv
	net    string // the test's bridge network
	etcd   *etcdServer
	consul *consulAgent
	flaky  *lbBackend
	// guarded are the attacked services' upstreams, by attack.
	guarded map[string]*chaosUpstream
	stable  *Backend
	// names name the addresses Ferry connects to, for a leak's report.
	names map[string]string
	rows  []chaosRow
}

// chaosUpstream is a backend whose /upload reads the whole request body
// before answering, counting the requests still reading theirs.
type chaosUpstream struct {
	*Backend
	inFlight atomic.Int64
	hits     atomic.Int64
}

// startChaosUpstream starts an echo backend named name whose /upload
// counts the requests reading their bodies.
func startChaosUpstream(t *testing.T, name string) *chaosUpstream {
	t.Helper()
	u := &chaosUpstream{}
	u.Backend = StartBackend(t, name, map[string]http.HandlerFunc{"/upload": func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "read %d bytes\n", n)
	}})
	return u
}

// startChaosEnv starts the stores, the engine's stable container, the
// backends and Ferry, and waits until every route serves.
func startChaosEnv(t *testing.T, cfg chaosSettings) *chaosEnv {
	t.Helper()
	env := &chaosEnv{cfg: cfg, docker: newDockerEnv(t), guarded: map[string]*chaosUpstream{}}
	env.net = env.docker.network("chaos")
	dstable := env.docker.start(ctrSpec{Name: env.docker.name("dstable"), Networks: []string{env.net},
		Labels: appLabels("ferry", "dstable", chaosDockerHost)})

	env.stable = StartBackend(t, "stable", nil)
	env.flaky = startLBBackend(t, "flaky")
	for _, a := range chaosAttacks() {
		env.guarded[a] = startChaosUpstream(t, "g-"+a)
	}
	etcdBackend := StartBackend(t, "etcd-stable", nil)
	consulBackend := StartBackend(t, "consul-stable", nil)
	env.names = map[string]string{env.stable.Addr: "stable", env.flaky.Addr: "flaky",
		etcdBackend.Addr: "etcd-stable", consulBackend.Addr: "consul-stable"}
	for a, u := range env.guarded {
		env.names[u.Addr] = "g-" + a
	}

	env.etcd = StartEtcd(t)
	env.etcd.Put(etcdRoute("estable", chaosEtcdHost, etcdBackend.URL)...)
	// A service defined in the agent's configuration: registered again
	// when the killed agent starts again, as a real agent's would be.
	env.consul = StartConsul(t, fmt.Sprintf(`service {
  name = "cstable"
  id = "cstable-1"
  address = "127.0.0.1"
  port = %s
  tags = ["ferry.enable=true", "ferry.http.routers.cstable.rule=Host(%s)"]
}`, portOf(t, consulBackend.Addr), "`"+chaosConsulHost+"`"))

	env.Edge = freeAddr(t)
	env.f = StartFerry(t, Options{
		Dynamic: env.dynamic(0),
		EntryPoints: fmt.Sprintf(`  edge:
    address: %q
    transport:
      respondingTimeouts:
        readHeaderTimeout: %s
        readTimeout: %s
`, env.Edge, chaosReadTimeout, chaosReadTimeout),
		Providers: fmt.Sprintf("  docker:\n    endpoint: %q\n    exposedByDefault: false\n    network: %s\n",
			env.docker.Host, env.net) + consulCatalogProviders(env.consul.Addr) + etcdProviders(env.etcd.Addr),
	})
	for host, backend := range map[string]string{
		chaosFileHost: "stable", chaosFlakyHost: "flaky", chaosDockerHost: env.docker.name("dstable"),
		chaosConsulHost: "consul-stable", chaosEtcdHost: "etcd-stable",
	} {
		env.f.WaitRoute(host, "/", http.StatusOK, backend)
	}
	for _, a := range chaosAttacks() {
		env.f.WaitRoute(guardedHost(a), "/", http.StatusOK, "g-"+a)
	}
	env.names[env.etcd.Addr], env.names[env.consul.Addr] = "etcd", "consul"
	env.names[dstable.ip(env.net)+":8080"] = "dstable"
	// Warm up: the upstream connection pools fill before the first
	// phase measures Ferry.
	warm := startChaosLoad(env.Edge, env.workers(nil))
	time.Sleep(time.Second)
	if r := warm.Stop(); r.Non2xx+r.Errors > 0 {
		t.Fatalf("warm-up: %d non-2xx and %d errors before any disturbance:%s", r.Non2xx, r.Errors, r.causes())
	}
	return env
}

// dynamic is the watched file's content; churn changes only the host of
// the router "churn".
func (env *chaosEnv) dynamic(churn int) string {
	var b strings.Builder
	route := func(name, host, service, middlewares string) {
		fmt.Fprintf(&b, "    %s:\n      rule: \"Host(`%s`)\"\n      service: %s\n%s", name, host, service, middlewares)
	}
	b.WriteString("http:\n  routers:\n")
	route("stable", chaosFileHost, "stable", "")
	route("flaky", chaosFlakyHost, "flaky", "")
	route("churn", fmt.Sprintf("churn-%d.file.test", churn), "stable", "")
	for _, a := range chaosAttacks() {
		route("g-"+a, guardedHost(a), "g-"+a, "      middlewares: [breaker-"+a+"]\n")
	}
	b.WriteString("  middlewares:\n")
	for _, a := range chaosAttacks() {
		// Strict on purpose: legitimate traffic is light, and no client's
		// fault may ever count.
		fmt.Fprintf(&b, `    breaker-%s:
      circuitBreaker:
        expression: "NetworkErrorRatio() > 0.02 || ResponseCodeRatio(500, 600, 0, 600) > 0.02"
        checkPeriod: 100ms
        fallbackDuration: 10s
        recoveryDuration: 5s
`, a)
	}
	b.WriteString("  services:\n")
	server := func(name, url, extra string) {
		fmt.Fprintf(&b, "    %s:\n      loadBalancer:\n        servers:\n          - url: %q\n%s", name, url, extra)
	}
	server("stable", env.stable.URL, "")
	server("flaky", env.flaky.URL, "")
	for _, a := range chaosAttacks() {
		server("g-"+a, env.guarded[a].URL, "        passiveHealthCheck:\n          maxFailedAttempts: 3\n          failureWindow: 10s\n")
	}
	return b.String()
}

// pid is Ferry's process id.
func (env *chaosEnv) pid() int { return env.f.cmd.Process.Pid }

// workers are the load's clients in a phase that disturbs the given hosts.
func (env *chaosEnv) workers(disturbed []string) []chaosWorker {
	var strict, guarded []string
	for _, h := range []string{chaosFileHost, chaosFlakyHost, chaosDockerHost, chaosConsulHost, chaosEtcdHost} {
		if !slices.Contains(disturbed, h) {
			strict = append(strict, h)
		}
	}
	for _, a := range chaosAttacks() {
		guarded = append(guarded, guardedHost(a))
	}
	var ws []chaosWorker
	for range env.cfg.Clients {
		ws = append(ws, chaosWorker{Hosts: strict, Strict: true})
	}
	// The guarded services get light, paced traffic, so that a few
	// failures would show in their breakers' ratios.
	for range 2 {
		ws = append(ws, chaosWorker{Hosts: guarded, Pace: 10 * time.Millisecond, Strict: true})
	}
	if len(disturbed) > 0 {
		ws = append(ws, chaosWorker{Hosts: disturbed, Pace: 20 * time.Millisecond})
	}
	return ws
}

// runPhase measures Ferry, runs the load while p disturbs, stops the load,
// lets connections close, and records and checks the phase's row.
func (env *chaosEnv) runPhase(t *testing.T, p chaosPhase) {
	before, err := env.procStats(t)
	if err != nil {
		t.Fatal(err)
	}
	load := startChaosLoad(env.Edge, env.workers(p.Disturbed))
	start := time.Now()
	// Deferred, so that the load stops and the row is kept when the
	// disturbance fails the test.
	defer func() {
		if rest := env.cfg.Phase - time.Since(start); rest > 0 && !t.Failed() {
			time.Sleep(rest)
		}
		res := load.Stop()
		row := chaosRow{Phase: p.Name, Took: time.Since(start), Load: res, Before: before}
		row.After, err = env.settle(t, before)
		if err != nil || env.f.Exited() {
			t.Errorf("%s: ferry is gone: %v", p.Name, err)
		}
		if row.After.FDs > before.FDs+chaosFDSlack {
			row.Sockets = chaosSockets(env.pid(), env.names)
		}
		checkRow(t, row)
		row.Failed = t.Failed()
		env.rows = append(env.rows, row)
	}()
	p.Run(t, env, load)
}
