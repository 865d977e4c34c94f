package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// storeBin returns the path of a server binary for the tests: the
// environment variable env (set by make test), else what the ensure script
// under test/ prints (which may build or install it).
func storeBin(t testing.TB, env, script string) string {
	t.Helper()
	if bin := os.Getenv(env); bin != "" {
		return bin
	}
	storeBinMu.Lock()
	defer storeBinMu.Unlock()
	if bin, ok := storeBins[script]; ok {
		return bin
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", filepath.Join(root, script)).Output()
	if err != nil {
		t.Fatalf("%s: %v (set %s to skip it)", script, err, env)
	}
	bin := strings.TrimSpace(string(out))
	storeBins[script] = bin
	return bin
}

var (
	storeBinMu sync.Mutex
	storeBins  = map[string]string{}
)

// consulAgent is a real Consul agent in dev mode on free loopback ports.
type consulAgent struct {
	t    testing.TB
	bin  string
	args []string
	// Addr is the agent's HTTP address, host:port.
	Addr string
	// API is a client of the agent.
	API *api.Client

	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// freePort returns a loopback port that was free, for TCP and UDP, a
// moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	return ports.reserve(t, true)
}

// StartConsul starts `consul agent -dev` on loopback and waits until it
// has a leader. It is stopped when the test ends. Each extra is more agent
// configuration in HCL; token is then the test's own ACL token.
func StartConsul(t testing.TB, extra ...string) *consulAgent {
	return startConsul(t, "", extra...)
}

func startConsul(t testing.TB, token string, extra ...string) *consulAgent {
	t.Helper()
	http := freePort(t)
	c := &consulAgent{t: t, bin: storeBin(t, "FERRY_CONSUL_BIN", "test/consul/ensure-consul.sh"),
		Addr: fmt.Sprintf("127.0.0.1:%d", http)}
	c.args = []string{"agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-node", "ferry-test", "-log-level", "warn",
		"-http-port", fmt.Sprint(http), "-dns-port", "-1", "-grpc-port", "-1",
		"-serf-lan-port", fmt.Sprint(freePort(t)), "-serf-wan-port", fmt.Sprint(freePort(t)),
		"-server-port", fmt.Sprint(freePort(t)),
		// Every watched service holds one connection: allow many.
		"-hcl", "limits { http_max_conns_per_client = 8192 }",
	}
	for _, hcl := range extra {
		c.args = append(c.args, "-hcl", hcl)
	}
	cfg := api.DefaultConfig()
	cfg.Address = c.Addr
	cfg.Token = token
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.API = client
	c.Start()
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("consul log (tail):\n%s", tail(c.logs.String(), 4000))
		}
	})
	return c
}

// Start starts the agent (again) and waits until it has a leader.
func (c *consulAgent) Start() {
	c.t.Helper()
	c.logs = &syncBuffer{}
	c.done = make(chan struct{})
	c.cmd = exec.Command(c.bin, c.args...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	// Killed with the test binary, should it die before its cleanups run.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start consul: %v", err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		leader, err := c.API.Status().Leader()
		if err == nil && leader != "" {
			if _, err = c.API.KV().Put(&api.KVPair{Key: "ferry-ready"}, nil); err == nil {
				return
			}
		}
		select {
		case <-c.done:
			c.t.Fatalf("consul exited at start:\n%s", tail(c.logs.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("consul has no leader after 30s (%v):\n%s", err, tail(c.logs.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the agent and waits for it to exit.
func (c *consulAgent) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Register registers a service instance on the agent with a passing TTL
// check named "<id>-ttl".
func (c *consulAgent) Register(name, id string, b *Backend, tags ...string) {
	c.t.Helper()
	host, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		c.t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		c.t.Fatal(err)
	}
	err = c.API.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: id, Name: name, Address: host, Port: p, Tags: tags,
		Check: &api.AgentServiceCheck{CheckID: id + "-ttl", TTL: "10m", Status: api.HealthPassing},
	})
	if err != nil {
		c.t.Fatalf("register %s: %v", id, err)
	}
}

// SetCheck sets the TTL check of the instance id to status.
func (c *consulAgent) SetCheck(id, status string) {
	c.t.Helper()
	if err := c.API.Agent().UpdateTTL(id+"-ttl", "set by the test", status); err != nil {
		c.t.Fatalf("update check of %s: %v", id, err)
	}
}

// Deregister removes the instance id.
func (c *consulAgent) Deregister(id string) {
	c.t.Helper()
	if err := c.API.Agent().ServiceDeregister(id); err != nil {
		c.t.Fatalf("deregister %s: %v", id, err)
	}
}

// Put writes one KV key.
func (c *consulAgent) Put(key, value string) {
	c.t.Helper()
	if _, err := c.API.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		c.t.Fatalf("consul kv put %s: %v", key, err)
	}
}

// Delete removes one KV key.
func (c *consulAgent) Delete(key string) {
	c.t.Helper()
	if _, err := c.API.KV().Delete(key, nil); err != nil {
		c.t.Fatalf("consul kv delete %s: %v", key, err)
	}
}
