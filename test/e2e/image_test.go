package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// TestImage builds the image with `make image` (FROM scratch: nothing is
// pulled) and runs it once as users do: a container with the Docker
// socket mounted, configured by flags and a FERRY_* variable, in front of
// a labelled container on a bridge network. Ferry's container uses the
// host network, so that its entry point is reached on loopback.
func TestImage(t *testing.T) {
	e := newDockerEnv(t)
	sock, ok := strings.CutPrefix(e.Host, "unix://")
	if !ok {
		t.Skipf("the engine at %s is not reached through a socket this test can mount", e.Host)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tag := "ferry-e2e-ferry:" + e.run
	build := exec.Command("make", "-s", "image", "IMAGE="+tag, "IMAGE_CONTEXT="+t.TempDir(),
		"IMAGE_FLAGS=--label "+dockerRunLabel+"="+e.run)
	build.Dir = root
	build.Env = append(os.Environ(), "DOCKER_HOST="+e.Host)
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image: %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := e.ctx()
		defer cancel()
		_, _ = e.cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})

	front := e.network("image")
	web, api := freeAddr(t), freeAddr(t)
	ctx, cancel := e.ctx()
	defer cancel()
	resp, err := e.cli.ContainerCreate(ctx, &container.Config{
		Image: tag,
		Cmd: []string{"--entryPoints.web.address=" + web, "--providers.docker.network=" + front,
			"--api.insecure", "--api.address=" + api, "--log.format=json"},
		Env:    []string{"FERRY_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT=false"},
		Labels: map[string]string{dockerRunLabel: e.run},
	}, &container.HostConfig{
		NetworkMode: "host",
		Binds:       []string{sock + ":/var/run/docker.sock:ro"},
	}, nil, nil, e.name("ferry"))
	if err != nil {
		t.Fatalf("docker create ferry: %v", err)
	}
	e.mu.Lock()
	e.containers = append(e.containers, resp.ID)
	e.mu.Unlock()
	if err := e.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("docker start ferry: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := e.ctx()
		defer cancel()
		if rc, err := e.cli.ContainerLogs(ctx, resp.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true}); err == nil {
			logs, _ := io.ReadAll(rc)
			rc.Close()
			t.Logf("ferry container log (tail, with Docker's stream headers):\n%s", tail(string(logs), 8000))
		}
	})

	tr := &http.Transport{ResponseHeaderTimeout: waitTimeout}
	t.Cleanup(tr.CloseIdleConnections)
	f := &Ferry{t: t, Web: web, API: api, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	waitAPI(t, f)

	// The unlabelled container starts first: once the labelled one is
	// served, the events of both were applied.
	plain := e.start(ctrSpec{Name: e.name("image-plain"), Networks: []string{front}})
	defer plain.remove()
	app := e.start(ctrSpec{Name: e.name("image-app"), Networks: []string{front}, Labels: appLabels("ferry", "imgapp", "image.test")})
	defer app.remove()
	f.WaitRoute("image.test", "/", http.StatusOK, app.Name)
	// exposedByDefault=false came from the variable: the unlabelled
	// container has no implicit router.
	if res := f.Get(plain.Name, "/"); res.Status != http.StatusNotFound {
		t.Errorf("unlabelled container: status %d, want 404 (FERRY_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT=false not applied?)", res.Status)
	}
}

// waitAPI waits until the API of a Ferry that is not a child process
// answers /ping.
func waitAPI(t *testing.T, f *Ferry) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := f.client.Get("http://" + f.API + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry's API at %s did not answer /ping within %s (last: %v)", f.API, waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
