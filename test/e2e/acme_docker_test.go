package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestACMEDockerLabel: a container started with the certResolver label
// gets its certificate, without a restart of Ferry.
func TestACMEDockerLabel(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	f, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA {
		return startPebble(t, web, secure)
	}, "", "http: {}\n", fmt.Sprintf("  docker:\n    endpoint: %q\n    exposedByDefault: false\n", e.Host))
	f.start()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	host := strings.ToLower(e.name("acme")) + ".ferry.test"
	c := e.start(ctrSpec{Name: e.name("acme"), Networks: []string{"host"}, Addr: "127.0.0.1:" + port, Labels: map[string]string{
		"ferry.enable":                                      "true",
		"ferry.http.routers.acme.rule":                      "Host(`" + host + "`)",
		"ferry.http.routers.acme.tls.certresolver":          "pebble-tls",
		"ferry.http.services.acme.loadbalancer.server.port": port,
	}})
	defer c.remove()
	took := f.waitValid(host, ca.Roots, issueTimeout)
	t.Logf("container started -> valid certificate for %s after %s", host, took)
	resp, body, err := f.httpsGet(host, "/", ca.Roots)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), c.Name) {
		t.Fatalf("GET https://%s/: %v %v %s", host, err, resp, body)
	}
}
