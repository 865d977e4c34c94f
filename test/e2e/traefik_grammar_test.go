package e2e

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ferryproxy/ferry/test/echo"
)

// htdigestLine is what Apache's htdigest writes (MD5), or its SHA-256 form.
func htdigestLine(user, realm, password string, sha bool) string {
	in := []byte(user + ":" + realm + ":" + password)
	if sha {
		s := sha256.Sum256(in)
		return user + ":" + realm + ":" + hex.EncodeToString(s[:])
	}
	s := md5.Sum(in)
	return user + ":" + realm + ":" + hex.EncodeToString(s[:])
}

// TestDigestAuthCurl: curl --digest logs in through a digestAuth
// middleware with MD5 (htdigest lines as Traefik users have them) and with
// SHA-256; a wrong password stays out, and the application sees the user.
func TestDigestAuthCurl(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	app := StartBackend(t, "app", nil)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    md5:
      rule: Host("md5.test")
      service: app
      middlewares: [md5]
    sha:
      rule: Host("sha.test")
      service: app
      middlewares: [sha]
  middlewares:
    md5:
      digestAuth:
        users: [%q]
        headerField: X-User
        removeHeader: true
    sha:
      digestAuth:
        users: [%q]
        realm: staff
        headerField: X-User
  services:
    app:
      loadBalancer:
        servers: [{url: %q}]
`, htdigestLine("alice", "traefik", "wonderland", false), htdigestLine("bob", "staff", "builder", true), app.URL)})
	f.WaitRoute("md5.test", "/", http.StatusUnauthorized, "")
	curl := func(t *testing.T, host, user string) (int, echo.Response, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--digest", "-u", user, "-H", "Host: "+host,
			"-D", "-", "http://"+f.Web+"/private/page?x=1").Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
		for strings.HasPrefix(body, "HTTP/") { // the 401 of the first round, then the answer
			head, body, _ = strings.Cut(body, "\n\n")
		}
		var status int
		_, _ = fmt.Sscanf(head, "HTTP/1.1 %d", &status)
		var r echo.Response
		_ = json.Unmarshal([]byte(body), &r)
		return status, r, head
	}
	tests := []struct {
		name, host, user string
		want             int
		algorithm        string
	}{
		{"MD5, realm taken from the users", "md5.test", "alice:wonderland", 200, "MD5"},
		{"MD5, wrong password", "md5.test", "alice:Wonderland", 401, ""},
		{"SHA-256", "sha.test", "bob:builder", 200, "SHA-256"},
		{"SHA-256, unknown user", "sha.test", "mallory:builder", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, r, head := curl(t, tt.host, tt.user)
			if status != tt.want {
				t.Fatalf("status %d, want %d\n%s", status, tt.want, head)
			}
			if tt.want != 200 {
				if !strings.Contains(strings.ToLower(head), "www-authenticate: digest realm=") {
					t.Fatalf("no digest challenge:\n%s", head)
				}
				return
			}
			user, _, _ := strings.Cut(tt.user, ":")
			if r.Header("X-User") != user {
				t.Fatalf("the application saw X-User %q, want %q", r.Header("X-User"), user)
			}
			if auth := r.Header("Authorization"); (tt.host == "md5.test") != (auth == "") ||
				(auth != "" && !strings.Contains(auth, "algorithm="+tt.algorithm)) {
				t.Fatalf("the application saw Authorization %q (removeHeader on md5.test only; algorithm %s)", auth, tt.algorithm)
			}
		})
	}
}

// TestTCPMiddlewares: a TCP router's ipAllowList closes connections from
// other addresses before the server is dialled, and inFlightConn caps each
// client's open connections; a closed connection frees its place.
func TestTCPMiddlewares(t *testing.T) {
	t.Parallel()
	echoSrv := startEchoServer(t)
	raw := freeAddr(t)
	f := startFerryWithEntryPoints(t, Options{Dynamic: dyn(`
tcp:
  routers:
    echo:
      rule: HostSNI("*")
      entryPoints: [raw]
      service: echo
      middlewares: [office, two]
  middlewares:
    office:
      ipAllowList:
        sourceRange: ["127.0.0.1", "127.0.0.2/32"]
    two:
      inFlightConn:
        amount: 2
  services:
    echo:
      loadBalancer:
        servers: [{address: %q}]
`, echoSrv.Addr)}, fmt.Sprintf("  raw:\n    address: %q\n", raw))
	f.WaitTCPRouters("echo@file")
	// dial connects from the given loopback address and returns the
	// connection and the greeting, or "" when Ferry closed it.
	dial := func(t *testing.T, from string) (net.Conn, string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitTimeout}
		c, err := d.Dial("tcp", raw)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		line, _ := bufio.NewReader(c).ReadString('\n')
		_ = c.SetReadDeadline(time.Time{})
		return c, line
	}
	t.Run("ipAllowList", func(t *testing.T) {
		c, greeting := dial(t, "127.0.0.3")
		c.Close()
		if greeting != "" {
			t.Fatalf("a client outside sourceRange got %q, want the connection closed", greeting)
		}
		c, greeting = dial(t, "127.0.0.2")
		c.Close()
		if greeting != echoGreeting {
			t.Fatalf("a client in sourceRange got %q", greeting)
		}
	})
	t.Run("inFlightConn", func(t *testing.T) {
		a, g1 := dial(t, "127.0.0.1")
		defer a.Close()
		b, g2 := dial(t, "127.0.0.1")
		defer b.Close()
		if g1 != echoGreeting || g2 != echoGreeting {
			t.Fatalf("two connections got %q and %q", g1, g2)
		}
		c, g3 := dial(t, "127.0.0.1")
		c.Close()
		if g3 != "" {
			t.Fatalf("a third connection of the same client got %q, want it closed", g3)
		}
		other, g4 := dial(t, "127.0.0.2")
		other.Close()
		if g4 != echoGreeting {
			t.Fatalf("another client got %q while the first had two open", g4)
		}
		a.Close()
		deadline := time.Now().Add(waitTimeout)
		for {
			d, g := dial(t, "127.0.0.1")
			d.Close()
			if g == echoGreeting {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no connection admitted after one of the two closed")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var mws []struct {
		Name   string   `json:"name"`
		Status string   `json:"status"`
		UsedBy []string `json:"usedBy"`
	}
	f.APIGet("/api/tcp/middlewares", &mws)
	if len(mws) != 2 || mws[0].Name != "office@file" || mws[0].Status != "enabled" || len(mws[0].UsedBy) != 1 {
		t.Fatalf("/api/tcp/middlewares = %+v", mws)
	}
}

// TestGRPCHealthCheck: a real gRPC server with the health service behind a
// service with healthCheck mode grpc: UP while it says SERVING, DOWN (and
// 503 for requests) once it says NOT_SERVING, UP again after.
func TestGRPCHealthCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	url := "h2c://" + ln.Addr().String()
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    api:
      rule: Host("grpc.test")
      service: api
  services:
    api:
      loadBalancer:
        servers: [{url: %q}]
        healthCheck:
          mode: grpc
          interval: 200ms
          timeout: 1s
`, url)})
	status := func() (string, string) {
		var svc struct {
			ServerStatus map[string]string `json:"serverStatus"`
			ServerHealth map[string]struct {
				LastError string `json:"lastError"`
			} `json:"serverHealth"`
		}
		f.APIGet("/api/http/services/api@file", &svc)
		return svc.ServerStatus[url], svc.ServerHealth[url].LastError
	}
	wait := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			s, why := status()
			if s == want {
				return why
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %s within %s, want %s (%s)", s, waitTimeout, want, why)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	f.waitRouters(func(m map[string]apiRouter) bool { _, ok := m["api@file"]; return ok })
	wait("UP")
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if why := wait("DOWN"); why != "gRPC health status NOT_SERVING, want SERVING" {
		t.Fatalf("DOWN because %q", why)
	}
	if res := f.Get("grpc.test", "/grpc.health.v1.Health/Check"); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("request to a service whose only server is DOWN: %d, want 503", res.Status)
	}
	if !strings.Contains(f.Logs(), "server failed its health check") {
		t.Fatal("the change to DOWN was not logged")
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	wait("UP")
}

// TestDockerTraefikDefaults: against the real engine, a container exposing
// two ports and no port label is served on the lower one (with a warning
// in the API, not an error), and with allowNonRunning a created but not
// started container's router answers 503 instead of 404.
func TestDockerTraefikDefaults(t *testing.T) {
	e := newDockerEnv(t)
	front := e.network("defaults")
	f := startDockerFerry(t, e.Host, "    network: "+front+"\n    allowNonRunning: true")

	multi := e.createPorts(ctrSpec{Name: e.name("multi"), Networks: []string{front}, Addr: ":7070",
		Labels: map[string]string{"ferry.enable": "true"}}, "9090/tcp", "7070/tcp")
	defer multi.remove()
	multi.start()
	f.WaitRoute(multi.Name, "/", http.StatusOK, multi.Name)
	var raw struct {
		Problems []struct {
			Kind, Name, Message string
		} `json:"problems"`
	}
	f.APIGet("/api/rawdata", &raw)
	warned := false
	for _, p := range raw.Problems {
		warned = warned || (p.Kind == "source" && strings.Contains(p.Name, multi.Name) && strings.Contains(p.Message, "using the lowest, 7070"))
	}
	if !warned {
		t.Fatalf("no warning about the port choice in the API: %+v", raw.Problems)
	}

	idle := e.create(ctrSpec{Name: e.name("idle"), Networks: []string{front}, Labels: map[string]string{"ferry.enable": "true"}})
	defer idle.remove()
	f.WaitRoute(idle.Name, "/", http.StatusServiceUnavailable, "")
	idle.start()
	f.WaitRoute(idle.Name, "/", http.StatusOK, idle.Name)
	idle.stop(time.Second)
	// A request sent in the moment between the stop and its event may
	// still go to the container's vanished address (and wait for the dial
	// timeout); once the stop is applied the service has no server left.
	waitFor(t, waitTimeout, "the stopped container's service loses its server", func() (bool, string) {
		var raw struct {
			Services map[string]struct {
				LoadBalancer struct{ Servers []any } `json:"loadBalancer"`
			} `json:"services"`
		}
		f.APIGet("/api/rawdata", &raw)
		svc, ok := raw.Services[idle.Name+"@docker"]
		return ok && len(svc.LoadBalancer.Servers) == 0, fmt.Sprint(ok, svc.LoadBalancer.Servers)
	})
	f.WaitRoute(idle.Name, "/", http.StatusServiceUnavailable, "")
}

// createPorts creates a backend container listening on s.Addr on network
// s.Networks[0] that exposes ports (and no other).
func (e *dockerEnv) createPorts(s ctrSpec, ports ...string) *ctr {
	e.t.Helper()
	labels := map[string]string{dockerRunLabel: e.run}
	for k, v := range s.Labels {
		labels[k] = v
	}
	cfg := &container.Config{Image: e.image, Cmd: []string{"-addr", s.Addr, "-name", s.Name}, Labels: labels, ExposedPorts: nat.PortSet{}}
	for _, p := range ports {
		cfg.ExposedPorts[nat.Port(p)] = struct{}{}
	}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(s.Networks[0])}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Networks[0]: {}}}
	ctx, cancel := e.ctx()
	defer cancel()
	resp, err := e.cli.ContainerCreate(ctx, cfg, hc, nc, nil, s.Name)
	if err != nil {
		e.t.Fatalf("docker create %s: %v", s.Name, err)
	}
	e.mu.Lock()
	e.containers = append(e.containers, resp.ID)
	e.mu.Unlock()
	return &ctr{e: e, ID: resp.ID, Name: s.Name}
}
