package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	// chaosRewriteEvery is the watched file's rewrite period (5×/s).
	chaosRewriteEvery = 200 * time.Millisecond
	// chaosEmptyGap is how long an in-place rewrite leaves the file empty
	// between truncating and writing it (longer than the debounce).
	chaosEmptyGap = 150 * time.Millisecond
	// chaosMaxCycles bounds every disturbance loop.
	chaosMaxCycles = 200
)

// chaosFileRewrites rewrites the watched file 5×/s, each time changing
// only the router "churn": in turn atomically (write aside, rename) and in
// place (truncate, a moment empty, write), as editors and tools do.
func chaosFileRewrites(t *testing.T, env *chaosEnv, _ *chaosLoad) {
	f := env.f.For(t)
	deadline := time.Now().Add(env.cfg.Phase)
	tick := time.NewTicker(chaosRewriteEvery)
	defer tick.Stop()
	n := 0
	for n < chaosMaxCycles && time.Now().Before(deadline) {
		<-tick.C
		n++
		if n%2 == 0 {
			f.WriteDynamic(env.dynamic(n))
		} else {
			chaosWriteInPlace(t, f.DynPath, env.dynamic(n), chaosEmptyGap)
		}
	}
	// The last rewrite was applied.
	f.WaitRoute(fmt.Sprintf("churn-%d.file.test", n), "/", http.StatusOK, "stable")
	t.Logf("file-rewrites: %d rewrites, every other one in place with the file empty for %s", n, chaosEmptyGap)
}

// chaosWriteInPlace truncates path, leaves it empty for gap, then writes data.
func chaosWriteInPlace(t *testing.T, path, data string, gap time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatalf("truncate %s: %v", path, err)
	}
	time.Sleep(gap)
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// chaosDockerChurn starts and stops containers of other services, one on
// the host network and one on the test's bridge network per cycle, each
// served before it is stopped and gone after.
func chaosDockerChurn(t *testing.T, env *chaosEnv, _ *chaosLoad) {
	f := env.f.For(t)
	e := env.docker
	deadline := time.Now().Add(env.cfg.Phase)
	n := 0
	var took [3]time.Duration // starting, until served, stopping until gone
	for ; n < chaosMaxCycles && (n == 0 || time.Now().Before(deadline)); n++ {
		hostName, bridgeName := fmt.Sprintf("churnh%d", n), fmt.Sprintf("churnb%d", n)
		start := time.Now()
		onHost := e.startHostBackend(hostName)
		onBridge := e.start(ctrSpec{Name: e.name(bridgeName), Networks: []string{env.net},
			Labels: appLabels("ferry", bridgeName, bridgeName+".test")})
		started := time.Now()
		f.WaitRoute(hostName+".test", "/", http.StatusOK, onHost.Name)
		f.WaitRoute(bridgeName+".test", "/", http.StatusOK, onBridge.Name)
		served := time.Now()
		onHost.stop(time.Second)
		onBridge.stop(time.Second)
		f.waitGone(hostName, hostName+".test")
		f.waitGone(bridgeName, bridgeName+".test")
		took[0] += started.Sub(start)
		took[1] += served.Sub(started)
		took[2] += time.Since(served)
		onHost.remove()
		onBridge.remove()
	}
	t.Logf("docker-churn: %d cycles of two containers (host network, bridge network) started (%s), served (%s later), stopped and gone (%s later)",
		n, took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), took[2].Round(time.Millisecond))
}

// chaosEtcdKill kills etcd, keeps it down, starts it again on the same
// data, and checks that a change made after the restart is served. The
// etcd route is not disturbed: its last routes must keep serving, and the
// restarted store holds the same keys.
func chaosEtcdKill(t *testing.T, env *chaosEnv, _ *chaosLoad) {
	f := env.f.For(t)
	mark := f.LogMark()
	chaosKill(t, "etcd", env.etcd.cmd, env.etcd.done)
	f.WaitLog(mark, "saying etcd is unreachable", func(l string) bool { return strings.Contains(l, "etcd unreachable") })
	time.Sleep(env.cfg.StoreDown)
	env.etcd.Start()
	env.etcd.Put(etcdRoute("eprobe", "probe.etcd.test", env.stable.URL)...)
	took := f.waitRouteWithin("probe.etcd.test", "/", http.StatusOK, "stable", 3*waitTimeout)
	t.Logf("etcd-kill: down %s; a key written after the restart served %s later", env.cfg.StoreDown, took.Round(time.Millisecond))
}

// chaosConsulKill kills the Consul agent, keeps it down, and starts it
// again. While it is down the catalog's last routes must keep serving; the
// dev agent starts empty and registers its configured service again, so
// the Consul route may fail between the restart and that registration.
func chaosConsulKill(t *testing.T, env *chaosEnv, load *chaosLoad) {
	f := env.f.For(t)
	mark := f.LogMark()
	load.storeDown.Store(true)
	chaosKill(t, "consul", env.consul.cmd, env.consul.done)
	f.WaitLog(mark, "saying the catalog is unreachable", func(l string) bool {
		return strings.Contains(l, "consul catalog unreachable")
	})
	time.Sleep(env.cfg.StoreDown)
	load.storeDown.Store(false)
	env.consul.Start()
	took := f.waitRouteWithin(chaosConsulHost, "/", http.StatusOK, "consul-stable", 3*waitTimeout)
	t.Logf("consul-kill: down %s; its route served %s after the restart", env.cfg.StoreDown, took.Round(time.Millisecond))
}

// chaosKill ends a store's process with SIGKILL, as a crash would, and
// waits until it exited.
func chaosKill(t *testing.T, what string, cmd *exec.Cmd, done <-chan struct{}) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", what, err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("%s still runs %s after SIGKILL", what, waitTimeout)
	}
}

// chaosUpstreamKill kills the only server of the service "flaky" and
// brings it back on the same address, in cycles.
func chaosUpstreamKill(t *testing.T, env *chaosEnv, _ *chaosLoad) {
	f := env.f.For(t)
	deadline := time.Now().Add(env.cfg.Phase)
	n := 0
	for ; n < chaosMaxCycles && (n == 0 || time.Now().Before(deadline)); n++ {
		env.flaky.Kill()
		time.Sleep(300 * time.Millisecond)
		env.flaky.Revive()
		f.WaitRoute(chaosFlakyHost, "/", http.StatusOK, "flaky")
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("upstream-kill: %d kill/revive cycles of flaky's server", n)
}
