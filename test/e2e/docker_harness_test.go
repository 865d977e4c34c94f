package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
)

// dockerRunLabel marks every container, network and image the Docker tests
// create; its value is "pid-<pid>" of the test process, so that leftovers of
// a crashed run can be found and removed (see cleanDockerLeftovers).
const dockerRunLabel = "ferry-e2e"

// dockerEnv is the Docker engine the tests use, with the backend image.
type dockerEnv struct {
	t *testing.T
	// Host is the engine's address (DOCKER_HOST form).
	Host  string
	cli   *client.Client
	run   string // value of dockerRunLabel
	image string

	mu         sync.Mutex
	containers []string
	networks   []string
}

// newDockerEnv connects to the machine's engine ($DOCKER_HOST, else
// /var/run/docker.sock), removes leftovers of crashed runs and imports the
// backend image. Without an engine the test is skipped, or fails when
// FERRY_DOCKER_REQUIRED is set (make test sets it after test/docker/engine.sh).
func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Ping(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("FERRY_DOCKER_REQUIRED") != "" {
			t.Fatalf("docker engine at %s: %v", host, err)
		}
		t.Skipf("no Docker engine answers at %s (%v); run test/docker/engine.sh", host, err)
	}
	e := &dockerEnv{t: t, Host: host, cli: cli, run: fmt.Sprintf("pid-%d", os.Getpid())}
	e.cleanLeftovers()
	t.Cleanup(e.cleanup)
	e.image = e.importBackend()
	return e
}

func (e *dockerEnv) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// cleanLeftovers removes what earlier test processes that no longer run left behind.
func (e *dockerEnv) cleanLeftovers() {
	ctx, cancel := e.ctx()
	defer cancel()
	stale := func(labels map[string]string) bool {
		v, ok := labels[dockerRunLabel]
		if !ok || v == e.run {
			return false
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(v, "pid-"))
		if err != nil {
			return true
		}
		_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
		return err != nil
	}
	f := filters.NewArgs(filters.Arg("label", dockerRunLabel))
	if cs, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f}); err == nil {
		for _, c := range cs {
			if stale(c.Labels) {
				_ = e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
			}
		}
	}
	if ns, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: f}); err == nil {
		for _, n := range ns {
			if stale(n.Labels) {
				_ = e.cli.NetworkRemove(ctx, n.ID)
			}
		}
	}
	if is, err := e.cli.ImageList(ctx, image.ListOptions{Filters: f}); err == nil {
		for _, i := range is {
			if stale(i.Labels) {
				_, _ = e.cli.ImageRemove(ctx, i.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			}
		}
	}
}

// cleanup removes every container, network and the image of this env.
func (e *dockerEnv) cleanup() {
	ctx, cancel := e.ctx()
	defer cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.containers {
		_ = e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	}
	for _, id := range e.networks {
		_ = e.cli.NetworkRemove(ctx, id)
	}
	if e.image != "" {
		_, _ = e.cli.ImageRemove(ctx, e.image, image.RemoveOptions{Force: true, PruneChildren: true})
	}
	_ = e.cli.Close()
}

// importBackend builds test/docker/backend as a static binary and imports
// it as an image holding only /backend.
func (e *dockerEnv) importBackend() string {
	t := e.t
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "backend")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./test/docker/backend")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build backend: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "backend", Mode: 0o755, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(data)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ref := "ferry-e2e-backend:" + e.run
	ctx, cancel := e.ctx()
	defer cancel()
	rc, err := e.cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, ref, image.ImportOptions{
		Changes: []string{`ENTRYPOINT ["/backend"]`, "LABEL " + dockerRunLabel + "=" + e.run},
	})
	if err != nil {
		t.Fatalf("docker import: %v", err)
	}
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()
	e.image = ref
	return ref
}

// network creates a bridge network and returns its name.
func (e *dockerEnv) network(name string) string {
	e.t.Helper()
	name = "fe2e-" + e.run + "-" + name
	ctx, cancel := e.ctx()
	defer cancel()
	resp, err := e.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: map[string]string{dockerRunLabel: e.run}})
	if err != nil {
		e.t.Fatalf("docker network create %s: %v", name, err)
	}
	e.mu.Lock()
	e.networks = append(e.networks, resp.ID)
	e.mu.Unlock()
	return name
}

// ctrSpec describes a backend container.
type ctrSpec struct {
	// Name is the container's name and the backend's X-Backend answer.
	Name string
	// Labels are the container's labels.
	Labels map[string]string
	// Networks are the networks it joins ("host" for the host network);
	// default: the engine's default bridge.
	Networks []string
	// Addr is the backend's listen address (default :8080).
	Addr string
	// NoExpose leaves the port unexposed.
	NoExpose bool
	// Drain keeps the backend serving this long after SIGTERM.
	Drain time.Duration
	// Health adds a health check that passes once /healthz/ok was requested.
	Health bool
	// Publish publishes the port on a random port of 127.0.0.1.
	Publish bool
}

// ctr is a created container.
type ctr struct {
	e    *dockerEnv
	ID   string
	Name string
}

// create creates (without starting) a backend container.
func (e *dockerEnv) create(s ctrSpec) *ctr {
	e.t.Helper()
	addr := s.Addr
	if addr == "" {
		addr = ":8080"
	}
	_, port, _ := net.SplitHostPort(addr)
	labels := map[string]string{dockerRunLabel: e.run}
	for k, v := range s.Labels {
		labels[k] = v
	}
	cfg := &container.Config{
		Image:  e.image,
		Cmd:    []string{"-addr", addr, "-name", s.Name, "-drain", s.Drain.String()},
		Labels: labels,
	}
	if !s.NoExpose {
		cfg.ExposedPorts = nat.PortSet{nat.Port(port + "/tcp"): {}}
	}
	if s.Health {
		cfg.Healthcheck = &container.HealthConfig{
			Test:     []string{"CMD", "/backend", "-check", "http://127.0.0.1:" + port + "/healthz"},
			Interval: 300 * time.Millisecond, Timeout: 2 * time.Second, Retries: 1,
		}
	}
	hc := &container.HostConfig{}
	if s.Publish {
		hc.PortBindings = nat.PortMap{nat.Port(port + "/tcp"): {{HostIP: "127.0.0.1"}}}
	}
	nc := &network.NetworkingConfig{}
	if len(s.Networks) > 0 {
		hc.NetworkMode = container.NetworkMode(s.Networks[0])
		if s.Networks[0] != "host" {
			nc.EndpointsConfig = map[string]*network.EndpointSettings{s.Networks[0]: {}}
		}
	}
	ctx, cancel := e.ctx()
	defer cancel()
	resp, err := e.cli.ContainerCreate(ctx, cfg, hc, nc, nil, s.Name)
	if err != nil {
		e.t.Fatalf("docker create %s: %v", s.Name, err)
	}
	e.mu.Lock()
	e.containers = append(e.containers, resp.ID)
	e.mu.Unlock()
	c := &ctr{e: e, ID: resp.ID, Name: s.Name}
	for _, n := range s.Networks[min(1, len(s.Networks)):] {
		c.connect(n)
	}
	return c
}

// start creates and starts a backend container (docker run -d).
func (e *dockerEnv) start(s ctrSpec) *ctr {
	e.t.Helper()
	c := e.create(s)
	c.start()
	return c
}

func (c *ctr) start() {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	if err := c.e.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		c.e.t.Fatalf("docker start %s: %v", c.Name, err)
	}
}

// stop stops the container with the given grace period (docker stop -t).
func (c *ctr) stop(grace time.Duration) {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	secs := int(grace / time.Second)
	if err := c.e.cli.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &secs}); err != nil {
		c.e.t.Fatalf("docker stop %s: %v", c.Name, err)
	}
}

// pause pauses (or unpauses) the container.
func (c *ctr) pause(on bool) {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	err := c.e.cli.ContainerUnpause(ctx, c.ID)
	if on {
		err = c.e.cli.ContainerPause(ctx, c.ID)
	}
	if err != nil {
		c.e.t.Fatalf("docker pause/unpause %s: %v", c.Name, err)
	}
}

// remove force-removes the container (docker rm -f).
func (c *ctr) remove() {
	ctx, cancel := c.e.ctx()
	defer cancel()
	_ = c.e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
}

func (c *ctr) connect(netName string) {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	if err := c.e.cli.NetworkConnect(ctx, netName, c.ID, nil); err != nil {
		c.e.t.Fatalf("docker network connect %s %s: %v", netName, c.Name, err)
	}
}

func (c *ctr) disconnect(netName string) {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	if err := c.e.cli.NetworkDisconnect(ctx, netName, c.ID, false); err != nil {
		c.e.t.Fatalf("docker network disconnect %s %s: %v", netName, c.Name, err)
	}
}

// ip returns the container's IP on a network, "" when not connected.
func (c *ctr) ip(netName string) string {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	j, err := c.e.cli.ContainerInspect(ctx, c.ID)
	if err != nil {
		c.e.t.Fatalf("docker inspect %s: %v", c.Name, err)
	}
	if ep, ok := j.NetworkSettings.Networks[netName]; ok && ep != nil {
		return ep.IPAddress
	}
	return ""
}

// health returns the container's health status.
func (c *ctr) health() string {
	c.e.t.Helper()
	ctx, cancel := c.e.ctx()
	defer cancel()
	j, err := c.e.cli.ContainerInspect(ctx, c.ID)
	if err != nil {
		c.e.t.Fatalf("docker inspect %s: %v", c.Name, err)
	}
	if j.State == nil || j.State.Health == nil {
		return ""
	}
	return string(j.State.Health.Status)
}

// startDockerFerry starts ferry with the Docker provider; docker holds the
// lines under providers.docker (indented by four spaces), besides the
// endpoint.
func startDockerFerry(t *testing.T, endpoint, docker string) *Ferry {
	t.Helper()
	return StartFerry(t, Options{Static: func(f *Ferry) string {
		return fmt.Sprintf(`entryPoints:
  web:
    address: %q
    transport:
      lifeCycle:
        graceTimeOut: 1s
providers:
  debounce: 100ms
  maxWait: 1s
  docker:
    endpoint: %q
%s
api:
  insecure: true
  address: %q
log:
  level: info
  format: json
`, f.Web, endpoint, docker, f.API)
	}})
}

// backendsSeen sends n requests and counts the answers per backend; any
// other answer is counted under "status <code>".
func (f *Ferry) backendsSeen(host string, n int) map[string]int {
	f.t.Helper()
	seen := map[string]int{}
	for range n {
		res, err := f.Do(http.MethodGet, host, "/", nil)
		switch {
		case err != nil:
			seen["error"]++
		case res.Status != http.StatusOK:
			seen[fmt.Sprintf("status %d", res.Status)]++
		default:
			seen[res.Backend()]++
		}
	}
	return seen
}

// waitBackends polls until n requests to host are answered by exactly the
// named backends, and fails after waitTimeout.
func (f *Ferry) waitBackends(host string, n int, names ...string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		seen := f.backendsSeen(host, n)
		ok := len(seen) == len(names)
		for _, name := range names {
			ok = ok && seen[name] > 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("host %s: want answers from exactly %v within %s, got %v", host, names, waitTimeout, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// name returns a container name unique to this test process.
func (e *dockerEnv) name(s string) string {
	return "fe2e-" + strings.TrimPrefix(e.run, "pid-") + "-" + s
}

// waitRouters polls /api/http/routers until ok holds, failing after waitTimeout.
func (f *Ferry) waitRouters(ok func(map[string]apiRouter) bool) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		_, m := f.Routers()
		if ok(m) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("routers not as expected within %s: %v", waitTimeout, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits until the router (name@docker) left the live table, then
// checks that host answers 404. Waiting on the API rather than with
// requests matters: a request sent in the moment before the swap may be
// routed to an address that just vanished and wait for the dial timeout.
func (f *Ferry) waitGone(router, host string) {
	f.t.Helper()
	f.waitRouters(func(m map[string]apiRouter) bool { _, ok := m[router+"@docker"]; return !ok })
	f.WaitRoute(host, "/", http.StatusNotFound, "")
}

// waitServers waits until the service (name@docker) has n servers in the
// live table.
func (f *Ferry) waitServers(service string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var svc struct {
			LoadBalancer struct {
				Servers []struct{ URL string } `json:"servers"`
			} `json:"loadBalancer"`
		}
		f.APIGet("/api/http/services/"+service+"@docker", &svc)
		if len(svc.LoadBalancer.Servers) == n {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("service %s: %d servers, want %d within %s", service, len(svc.LoadBalancer.Servers), n, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
