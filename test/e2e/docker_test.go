package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// webLabels are the labels of a replica of the service "web" on host.
func webLabels(prefix, host string) map[string]string { return appLabels(prefix, "web", host) }

// appLabels are the labels of a replica of the router and service name on host.
func appLabels(prefix, name, host string) map[string]string {
	return map[string]string{
		prefix + ".enable":                                              "true",
		prefix + ".http.routers." + name + ".rule":                      "Host(`" + host + "`)",
		prefix + ".http.services." + name + ".loadbalancer.server.port": "8080",
	}
}

// TestDocker runs Ferry with the Docker provider against the real engine,
// with containers made from the test backend image.
func TestDocker(t *testing.T) {
	e := newDockerEnv(t)
	front := e.network("front")
	f := startDockerFerry(t, e.Host, "    exposedByDefault: false\n    network: "+front)

	t.Run("run_then_stop", func(t *testing.T) {
		f := f.For(t)
		c := e.start(ctrSpec{Name: e.name("solo"), Networks: []string{front},
			Labels: map[string]string{"ferry.enable": "true"}})
		defer c.remove()
		// The implicit router: Host(`<normalized container name>`).
		f.WaitRoute(c.Name, "/", http.StatusOK, c.Name)
		c.stop(5 * time.Second)
		f.waitGone(c.Name, c.Name)
	})

	t.Run("not_enabled_is_not_served", func(t *testing.T) {
		f := f.For(t)
		c := e.start(ctrSpec{Name: e.name("plain"), Networks: []string{front}})
		defer c.remove()
		probe := e.start(ctrSpec{Name: e.name("probe"), Networks: []string{front}, Labels: map[string]string{"ferry.enable": "true"}})
		defer probe.remove()
		f.WaitRoute(probe.Name, "/", http.StatusOK, probe.Name) // the events after plain's start were applied
		if res := f.Get(c.Name, "/"); res.Status != http.StatusNotFound {
			t.Errorf("container without ferry.enable: status %d, want 404", res.Status)
		}
	})

	t.Run("compose_name_and_pause", func(t *testing.T) {
		f := f.For(t)
		c := e.start(ctrSpec{Name: e.name("compose"), Networks: []string{front}, Labels: map[string]string{
			"ferry.enable": "true", "com.docker.compose.service": "api", "com.docker.compose.project": "shop" + e.run,
		}})
		defer c.remove()
		name := "api-shop" + e.run // the implicit router and service are named <service>-<project>
		f.WaitRoute(name, "/", http.StatusOK, c.Name)
		c.pause(true)
		f.waitRouters(func(m map[string]apiRouter) bool { _, ok := m[name+"@docker"]; return !ok })
		c.pause(false)
		f.WaitRoute(name, "/", http.StatusOK, c.Name)
	})

	t.Run("replicas_and_drain_on_stop", func(t *testing.T) {
		f := f.For(t)
		const host = "replicas.test"
		r1 := e.start(ctrSpec{Name: e.name("r1"), Networks: []string{front}, Labels: webLabels("ferry", host), Drain: 3 * time.Second})
		defer r1.remove()
		r2 := e.start(ctrSpec{Name: e.name("r2"), Networks: []string{front}, Labels: webLabels("ferry", host), Drain: 3 * time.Second})
		defer r2.remove()
		f.waitBackends(host, 8, r1.Name, r2.Name)

		// Traffic while r1 stops: r1 keeps serving for 3s after SIGTERM,
		// but Ferry must take it out of rotation on the kill event.
		type answer struct {
			at      time.Time
			backend string
			err     string
		}
		var mu sync.Mutex
		var answers []answer
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-done:
					return
				default:
				}
				res, err := f.Do(http.MethodGet, host, "/", nil)
				a := answer{at: time.Now()}
				switch {
				case err != nil:
					a.err = err.Error()
				case res.Status != http.StatusOK:
					a.err = http.StatusText(res.Status)
				default:
					a.backend = res.Backend()
				}
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
		time.Sleep(200 * time.Millisecond)
		stopAt := time.Now()
		r1.stop(10 * time.Second) // returns once r1 exited, about 3s later
		stopped := time.Now()
		time.Sleep(300 * time.Millisecond)
		close(done)
		wg.Wait()

		var failed, lateR1, during int
		for _, a := range answers {
			if a.err != "" {
				failed++
				t.Errorf("request at +%s failed: %s", a.at.Sub(stopAt), a.err)
			}
			if a.at.After(stopAt) && a.at.Before(stopped) {
				during++
			}
			if a.backend == r1.Name && a.at.After(stopAt.Add(1500*time.Millisecond)) {
				lateR1++
			}
		}
		if stopped.Sub(stopAt) < 2500*time.Millisecond {
			t.Fatalf("docker stop took %s; the backend should have kept serving for 3s", stopped.Sub(stopAt))
		}
		if lateR1 > 0 {
			t.Errorf("%d requests went to the stopping container more than 1.5s after docker stop began", lateR1)
		}
		t.Logf("%d requests during a %s stop, %d failed", during, stopped.Sub(stopAt).Round(time.Millisecond), failed)
		f.waitBackends(host, 6, r2.Name)
	})

	t.Run("scale_to_five_and_back", func(t *testing.T) {
		f := f.For(t)
		const host = "scale.test"
		var cs []*ctr
		var names []string
		for i := range 5 {
			c := e.create(ctrSpec{Name: e.name("s" + string(rune('1'+i))), Networks: []string{front}, Labels: webLabels("ferry", host)})
			defer c.remove()
			cs = append(cs, c)
			names = append(names, c.Name)
		}
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Add(1)
			go func() { defer wg.Done(); c.start() }()
		}
		wg.Wait()
		f.waitBackends(host, 20, names...)
		for _, c := range cs[1:] {
			wg.Add(1)
			go func() { defer wg.Done(); c.stop(5 * time.Second) }()
		}
		wg.Wait()
		f.waitServers("web", 1)
		f.waitBackends(host, 10, names[0])
	})

	t.Run("unhealthy_until_healthy", func(t *testing.T) {
		f := f.For(t)
		const host = "health.test"
		c := e.start(ctrSpec{Name: e.name("health"), Networks: []string{front}, Labels: webLabels("ferry", host), Health: true})
		defer c.remove()
		deadline := time.Now().Add(waitTimeout)
		for c.health() != "unhealthy" {
			if time.Now().After(deadline) {
				t.Fatalf("container health %q, want unhealthy", c.health())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if res := f.Get(host, "/"); res.Status != http.StatusNotFound {
			t.Fatalf("unhealthy container: status %d, want 404", res.Status)
		}
		// Make its health check pass, talking to the container directly.
		resp, err := http.Get("http://" + net.JoinHostPort(c.ip(front), "8080") + "/healthz/ok")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.WaitRoute(host, "/", http.StatusOK, c.Name)
	})

	t.Run("network_label_chooses_and_disconnect", func(t *testing.T) {
		f := f.For(t)
		const host = "twonets.test"
		back := e.network("back")
		labels := webLabels("ferry", host)
		labels["ferry.docker.network"] = back
		c := e.start(ctrSpec{Name: e.name("twonets"), Networks: []string{front, back}, Labels: labels})
		defer c.remove()
		f.WaitRoute(host, "/", http.StatusOK, c.Name)
		res := f.Get(host, "/")
		if want := net.JoinHostPort(c.ip(back), "8080"); res.Header.Get("X-Local-Addr") != want {
			t.Errorf("reached at %q, want its address on %s: %s (front: %s)", res.Header.Get("X-Local-Addr"), back, want, c.ip(front))
		}
		c.disconnect(back)
		f.waitGone("web", host)
		c.connect(back)
		f.WaitRoute(host, "/", http.StatusOK, c.Name)
		if got, want := f.Get(host, "/").Header.Get("X-Local-Addr"), net.JoinHostPort(c.ip(back), "8080"); got != want {
			t.Errorf("after connect reached at %q, want %q", got, want)
		}
	})

	t.Run("host_network", func(t *testing.T) {
		f := f.For(t)
		const host = "hostnet.test"
		addr := freeAddr(t)
		labels := webLabels("ferry", host)
		labels["ferry.http.services.web.loadbalancer.server.port"] = portOf(t, addr)
		labels["ferry.http.services.hostweb.loadbalancer.server.port"] = portOf(t, addr)
		labels["ferry.http.routers.web.service"] = "hostweb"
		c := e.start(ctrSpec{Name: e.name("hostnet"), Networks: []string{"host"}, Addr: addr, Labels: labels})
		defer c.remove()
		f.WaitRoute(host, "/", http.StatusOK, c.Name)
		if got := f.Get(host, "/").Header.Get("X-Local-Addr"); got != addr {
			t.Errorf("reached at %q, want %q", got, addr)
		}
	})

	t.Run("bad_labels_are_reported_alone", func(t *testing.T) {
		f := f.For(t)
		bad := e.start(ctrSpec{Name: e.name("badlabels"), Networks: []string{front}, Labels: map[string]string{
			"ferry.enable":                                        "true",
			"ferry.http.routers.typo.rulee":                       "Host(`typo.test`)",
			"ferry.http.routers.badrule.rule":                     "Host(`badrule.test`",
			"ferry.http.routers.fine.rule":                        "Host(`fine.test`)",
			"ferry.http.services.badsvc.loadbalancer.server.port": "8080",
		}})
		defer bad.remove()
		noport := e.start(ctrSpec{Name: e.name("noport"), Networks: []string{front}, NoExpose: true, Labels: map[string]string{
			"ferry.enable": "true", "ferry.http.routers.noport.rule": "Host(`noport.test`)",
		}})
		defer noport.remove()
		good := e.start(ctrSpec{Name: e.name("good"), Networks: []string{front}, Labels: webLabels("ferry", "good.test")})
		defer good.remove()

		f.WaitRoute("good.test", "/", http.StatusOK, good.Name)
		f.WaitRoute("fine.test", "/", http.StatusOK, bad.Name) // the bad container's other router serves
		var raw struct {
			Problems []struct {
				Kind, Name, Field, Message, Origin string
			} `json:"problems"`
		}
		f.APIGet("/api/rawdata", &raw)
		body, _ := json.Marshal(raw.Problems)
		for _, want := range [][]string{
			{`typo@docker`, `label ferry.http.routers.typo.rulee=\"Host(` + "`typo.test`" + `)\": unknown key`, `container \"` + bad.Name},
			{`badrule@docker`, `label ferry.http.routers.badrule.rule=`, `container \"` + bad.Name},
			{noport.Name + `@docker`, `no port`, `ferry.http.services.` + noport.Name + `.loadbalancer.server.port`, `container \"` + noport.Name},
		} {
			found := false
			for _, p := range raw.Problems {
				b, _ := json.Marshal(p)
				found = found || containsAll(string(b), want...)
			}
			if !found {
				t.Errorf("no problem with %q in the API; problems: %s", want, body)
			}
		}
		for _, r := range []string{"typo.test", "badrule.test", "noport.test"} {
			if res := f.Get(r, "/"); res.Status == http.StatusOK {
				t.Errorf("%s: status 200 from a disabled router", r)
			}
		}
		f.WaitLog(0, "naming the bad label", func(line string) bool {
			return strings.Contains(line, "ferry.http.routers.typo.rulee") && strings.Contains(line, bad.Name)
		})
	})
}

// TestDockerTraefikLabels runs an existing Traefik deployment's labels
// unchanged with labelPrefix: traefik.
func TestDockerTraefikLabels(t *testing.T) {
	e := newDockerEnv(t)
	net1 := e.network("tk")
	f := startDockerFerry(t, e.Host, "    labelPrefix: traefik\n    defaultRule: Host(`{{ normalize .Name }}.docker.localhost`)")
	tk := e.start(ctrSpec{Name: e.name("tk"), Networks: []string{net1}, Labels: map[string]string{
		"traefik.enable":                                        "true",
		"traefik.http.routers.whoami.rule":                      "Host(`whoami.test`) && PathPrefix(`/api`)",
		"traefik.http.routers.whoami.entrypoints":               "web",
		"traefik.http.services.whoami.loadbalancer.server.port": "8080",
	}})
	defer tk.remove()
	implicit := e.start(ctrSpec{Name: e.name("implicit"), Networks: []string{net1}, Labels: map[string]string{"traefik.enable": "true"}})
	defer implicit.remove()
	ferryOnly := e.start(ctrSpec{Name: e.name("ferryonly"), Networks: []string{net1}, Labels: webLabels("ferry", "ferryonly.test")})
	defer ferryOnly.remove()

	f.WaitRoute("whoami.test", "/api/x", http.StatusOK, tk.Name)
	f.WaitRoute(implicit.Name+".docker.localhost", "/", http.StatusOK, implicit.Name)
	if res := f.Get("whoami.test", "/other"); res.Status != http.StatusNotFound {
		t.Errorf("path outside the rule: status %d, want 404", res.Status)
	}
	if res := f.Get("ferryonly.test", "/"); res.Status != http.StatusNotFound {
		t.Errorf("ferry.* labels with labelPrefix traefik: status %d, want 404", res.Status)
	}
}

// TestDockerOptions covers the provider options that change which
// containers are read and how they are reached: exposedByDefault,
// constraints, useBindPortIP and watch: false.
func TestDockerOptions(t *testing.T) {
	e := newDockerEnv(t)
	n := e.network("opts")
	pub := e.start(ctrSpec{Name: e.name("pub"), Networks: []string{n}, Publish: true, Labels: map[string]string{"tier": "pub"}})
	defer pub.remove()
	priv := e.start(ctrSpec{Name: e.name("priv"), Networks: []string{n}, Publish: true, Labels: map[string]string{"tier": "priv"}})
	defer priv.remove()
	f := startDockerFerry(t, e.Host, "    exposedByDefault: true\n    useBindPortIP: true\n    watch: false\n"+
		"    constraints: Label(`tier`, `pub`) && !Label(`skip`, `yes`)")

	f.WaitRoute(pub.Name, "/", http.StatusOK, pub.Name)
	var svc struct {
		ServerStatus map[string]string `json:"serverStatus"`
		LoadBalancer struct {
			Servers []struct{ URL string } `json:"servers"`
		} `json:"loadBalancer"`
	}
	f.APIGet("/api/http/services/"+pub.Name+"@docker", &svc)
	if len(svc.LoadBalancer.Servers) != 1 || !strings.HasPrefix(svc.LoadBalancer.Servers[0].URL, "http://127.0.0.1:") {
		t.Errorf("useBindPortIP: servers %+v, want the published 127.0.0.1 port", svc.LoadBalancer.Servers)
	}
	if res := f.Get(priv.Name, "/"); res.Status != http.StatusNotFound {
		t.Errorf("container outside the constraints: status %d, want 404", res.Status)
	}
	late := e.start(ctrSpec{Name: e.name("late"), Networks: []string{n}, Publish: true, Labels: map[string]string{"tier": "pub"}})
	defer late.remove()
	time.Sleep(time.Second) // a negative check: with watch: false nothing may change
	if res := f.Get(late.Name, "/"); res.Status != http.StatusNotFound {
		t.Errorf("watch: false but a container started later is served (status %d)", res.Status)
	}
}
