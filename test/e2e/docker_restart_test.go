package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// privateDockerd is a Docker engine started for one test: its own data,
// exec root, pid file, socket and cgroup parent under a temporary
// directory, vfs storage and no networking of its own (no bridge, no
// iptables), so it cannot clash with the machine's engine; its containers
// use the host network. It runs with --live-restore, so its containers
// keep running while it is stopped.
type privateDockerd struct {
	t      *testing.T
	dir    string
	sock   string
	cgroup string // cgroup parent of its containers
	log    *os.File
	cmd    *exec.Cmd
	done   chan struct{}
}

// newPrivateDockerd starts the engine, or skips the test when it cannot
// run here: not root, or no dockerd installed (FERRY_DOCKER_REQUIRED does
// not change that: it promises an engine that answers, which may be remote
// or shared, not the right to start one). Cleanup removes its containers,
// stops it and removes its mounts, cgroups and directory, whatever state
// the test left it in.
func newPrivateDockerd(t *testing.T) *privateDockerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("starting a private dockerd needs root")
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Skipf("dockerd is not installed: %v", err)
	}
	purgeStaleDockerds(t)
	// A short path: the socket's must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "ferry-e2e-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &privateDockerd{t: t, dir: dir, sock: filepath.Join(dir, "docker.sock"),
		cgroup: filepath.Base(dir)}
	// An empty config file: the machine's /etc/docker/daemon.json may set
	// data-root or storage-driver, which dockerd refuses to see twice.
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d.log, err = os.Create(filepath.Join(dir, "dockerd.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cleanup)
	d.start()
	return d
}

// purgeStaleDockerds removes the private engines of test processes that
// died without their cleanup (a go test timeout, a kill): their owner
// process is gone, or they never recorded one and are older than a minute.
func purgeStaleDockerds(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ferry-e2e-dockerd-*"))
	for _, dir := range dirs {
		if owner, err := os.ReadFile(filepath.Join(dir, "owner")); err == nil {
			if _, err := os.Stat("/proc/" + strings.TrimSpace(string(owner))); err == nil {
				continue
			}
		} else if st, err := os.Stat(dir); err != nil || time.Since(st.ModTime()) < time.Minute {
			continue
		}
		t.Logf("removing the private dockerd of a test process that is gone: %s", dir)
		(&privateDockerd{t: t, dir: dir, cgroup: filepath.Base(dir)}).purge(t.Logf)
	}
}

// Host is the engine's address in DOCKER_HOST form.
func (d *privateDockerd) Host() string { return "unix://" + d.sock }

// start runs dockerd and waits until it answers.
func (d *privateDockerd) start() {
	d.t.Helper()
	if err := d.launch(); err != nil {
		d.t.Fatalf("private dockerd: %v\n%s", err, d.logTail())
	}
}

// launch runs dockerd on the same socket, data and exec roots every time
// and waits until it answers.
func (d *privateDockerd) launch() error {
	d.cmd = exec.Command("dockerd",
		"--config-file", filepath.Join(d.dir, "daemon.json"),
		"-H", d.Host(),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "dockerd.pid"),
		"--storage-driver", "vfs",
		"--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--cgroup-parent", d.cgroup,
		"--live-restore",
	)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	// Its own process group: a ^C to the test does not reach it, and the
	// cleanup stops it in order.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		return fmt.Errorf("start dockerd: %w", err)
	}
	done := make(chan struct{})
	d.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(d.cmd)
	if err := d.waitAnswers(30 * time.Second); err != nil {
		_ = d.stop(10 * time.Second)
		return err
	}
	return nil
}

// waitAnswers polls the socket until the engine answers a ping.
func (d *privateDockerd) waitAnswers(within time.Duration) error {
	cli, err := client.NewClientWithOpts(client.WithHost(d.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = cli.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("dockerd exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %w", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether the dockerd last started still runs.
func (d *privateDockerd) running() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for dockerd to exit; after within it is
// killed and stop reports the failure.
func (d *privateDockerd) stop(within time.Duration) error {
	if !d.running() {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(within):
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	return fmt.Errorf("dockerd did not exit within %s of SIGTERM", within)
}

func (d *privateDockerd) logTail() string {
	data, _ := os.ReadFile(d.log.Name())
	return tail(string(data), 4000)
}

// cleanup removes every container (starting the engine again when the
// test left it stopped), stops the engine, kills what it left behind (its
// containerd shims and container processes, found by the temporary
// directory in their command line or by the cgroup parent), then removes
// its mounts, cgroups and directory.
func (d *privateDockerd) cleanup() {
	t := d.t
	if t.Failed() {
		t.Logf("private dockerd log (tail):\n%s", d.logTail())
	}
	if !d.running() {
		if err := d.launch(); err != nil {
			t.Errorf("cleanup: restart dockerd to remove its containers: %v", err)
		}
	}
	if d.running() {
		if cli, err := client.NewClientWithOpts(client.WithHost(d.Host()), client.WithAPIVersionNegotiation()); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if cs, err := cli.ContainerList(ctx, container.ListOptions{All: true}); err == nil {
				for _, c := range cs {
					_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
				}
			}
			cancel()
			cli.Close()
		}
		if err := d.stop(30 * time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if d.log != nil {
		d.log.Close()
	}
	d.purge(t.Errorf)
}

// purge kills whatever of the engine still runs, then removes its mounts,
// directory and cgroups; report receives what could not be removed.
func (d *privateDockerd) purge(report func(format string, args ...any)) {
	d.killLeftovers()
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var under []string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], d.dir+"/") {
			under = append(under, f[1])
		}
	}
	slices.Sort(under)
	slices.Reverse(under) // deepest first
	for _, m := range under {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			report("cleanup: unmount %s: %v", m, err)
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		report("cleanup: %v", err)
	}
	// The cgroup parent in every hierarchy (v1) or the unified one (v2),
	// with what dockerd left in it: only directories, removed deepest first.
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + d.cgroup)
	roots = append(roots, "/sys/fs/cgroup/"+d.cgroup)
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, c := range dirs {
			if err := os.Remove(c); err != nil {
				report("cleanup: remove cgroup %s: %v", c, err)
			}
		}
	}
}

// killLeftovers kills what a stopped or killed dockerd may leave running:
// container processes (in its cgroup parent), then containerd and shims
// (their command line names its temporary directory).
func (d *privateDockerd) killLeftovers() {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var ctrs, daemons []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cg, err := os.ReadFile(p + "/cgroup"); err == nil && strings.Contains(string(cg), "/"+d.cgroup+"/") {
			ctrs = append(ctrs, pid)
			continue
		}
		if cmd, err := os.ReadFile(p + "/cmdline"); err == nil && strings.Contains(string(cmd), d.dir) {
			daemons = append(daemons, pid)
		}
	}
	for _, pid := range append(ctrs, daemons...) {
		d.t.Logf("cleanup: killing leftover process %d of the private dockerd", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(ctrs)+len(daemons) > 0 {
		time.Sleep(500 * time.Millisecond) // let the kernel release their mounts
	}
}

// startHostBackend starts a labelled backend container on the host network,
// listening on a free loopback port; Ferry reaches it at 127.0.0.1:port.
func (e *dockerEnv) startHostBackend(name string) *ctr {
	e.t.Helper()
	addr := freeAddr(e.t)
	labels := appLabels("ferry", name, name+".test")
	labels["ferry.http.services."+name+".loadbalancer.server.port"] = portOf(e.t, addr)
	return e.start(ctrSpec{Name: e.name(name), Networks: []string{"host"}, Addr: addr, Labels: labels})
}

// waitLogWithin is Ferry.WaitLog with an explicit bound.
func waitLogWithin(t *testing.T, f *Ferry, mark int, what, substr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(f.Logs()[mark:], substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %s (%q) within %s", what, substr, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDockerDaemonRestart restarts a real engine under Ferry: while dockerd
// is down (its container kept running by --live-restore) the last routes
// keep serving, the outage is logged once, and once dockerd is back on the
// same socket Ferry reconnects and serves a container started afterwards.
// It starts a private dockerd (root and dockerd needed; skipped otherwise
// unless FERRY_DOCKER_REQUIRED is set) and never touches the machine's own.
func TestDockerDaemonRestart(t *testing.T) {
	d := newPrivateDockerd(t)
	cli, err := client.NewClientWithOpts(client.WithHost(d.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	e := &dockerEnv{t: t, Host: d.Host(), cli: cli, run: fmt.Sprintf("pid-%d", os.Getpid())}
	t.Cleanup(e.cleanup) // runs before the engine's cleanup
	e.image = e.importBackend()
	f := startDockerFerry(t, d.Host(), "")

	a := e.startHostBackend("before")
	f.WaitRoute("before.test", "/", http.StatusOK, a.Name)

	// Requests through Ferry from before the stop until dockerd answers again.
	type answer struct {
		at  time.Time
		err string // "" for 200 from a
	}
	var answers []answer
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for range 3000 { // bounded: ~20ms apart, the outage lasts seconds
			select {
			case <-stopLoad:
				return
			default:
			}
			res, err := f.Do(http.MethodGet, "before.test", "/", nil)
			ans := answer{at: time.Now()}
			switch {
			case err != nil:
				ans.err = err.Error()
			case res.Status != http.StatusOK || res.Backend() != a.Name:
				ans.err = fmt.Sprintf("status %d from %q", res.Status, res.Backend())
			}
			answers = append(answers, ans)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	stopped := false
	defer func() {
		if !stopped {
			close(stopLoad)
			<-loadDone
		}
	}()

	mark := f.LogMark()
	termAt := time.Now()
	if err := d.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	downAt := time.Now()
	waitLogWithin(t, f, mark, "about the lost engine", "engine unreachable", waitTimeout)
	// Stay down through several reconnect attempts (200ms, 400ms, 800ms...).
	time.Sleep(3 * time.Second)

	if err := d.launch(); err != nil {
		t.Fatalf("restart dockerd: %v\n%s", err, d.logTail())
	}
	upAt := time.Now()
	close(stopLoad)
	<-loadDone
	stopped = true

	var during, failed int
	for _, x := range answers {
		if x.err != "" {
			failed++
			t.Errorf("request at +%s after SIGTERM: %s", x.at.Sub(termAt).Round(time.Millisecond), x.err)
		}
		if x.at.After(downAt) && x.at.Before(upAt) && x.err == "" {
			during++
		}
	}
	if during == 0 {
		t.Errorf("no request answered while dockerd was down (%d sent in all)", len(answers))
	}

	// The provider retries with a backoff capped at 10s.
	waitLogWithin(t, f, mark, "about the reconnection", "reconnected", 25*time.Second)
	reconnected := time.Since(upAt)
	if got := strings.Count(f.Logs()[mark:], "engine unreachable"); got != 1 {
		t.Errorf("the outage was logged %d times, want once", got)
	}

	b := e.startHostBackend("after")
	pickup := f.waitRouteWithin("after.test", "/", http.StatusOK, b.Name, 25*time.Second)
	f.WaitRoute("before.test", "/", http.StatusOK, a.Name)

	t.Logf("dockerd: SIGTERM to exit %s; down for %s (exit to answering again); "+
		"%d requests through Ferry during the stop and outage, %d of them while dockerd was down, %d failed; "+
		"reconnection logged %s after dockerd answered; new container served %s after its start",
		downAt.Sub(termAt).Round(time.Millisecond), upAt.Sub(downAt).Round(time.Millisecond),
		len(answers), during, failed, reconnected.Round(10*time.Millisecond), pickup.Round(time.Millisecond))
}
