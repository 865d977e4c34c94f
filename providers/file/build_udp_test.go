package file

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

const dnsYAML = `udp:
  routers:
    dns:
      entryPoints: [dns]
      service: ns
  services:
    ns:
      loadBalancer:
        servers:
          - address: 127.0.0.1:5353
            weight: 2
`

func TestLoadUDP(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), dnsYAML)
	write(t, filepath.Join(dir, "b.yaml"), "udp:\n  services:\n    ns:\n      loadBalancer:\n        servers:\n          - address: 127.0.0.1:53\n    bad:\n      loadBalancer:\n        servers:\n          - address: 127.0.0.1:53\n            port: 1\n")
	res, err := Load(Options{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Config.UDP.Routers["dns"]
	if r == nil || r.Service != "ns" || len(r.EntryPoints) != 1 || r.EntryPoints[0] != "dns" {
		t.Fatalf("router dns = %+v", r)
	}
	ns := res.Config.UDP.Services["ns"]
	if ns == nil || ns.LoadBalancer.Servers[0].Address != "127.0.0.1:5353" || ns.LoadBalancer.Servers[0].ServerWeight() != 2 {
		t.Fatalf("service ns = %+v (the first file's definition is kept)", ns)
	}
	if o := res.Origins[config.ObjectID{Kind: config.KindUDPRouter, Name: "dns"}]; o != filepath.Join(dir, "a.yaml")+":3" {
		t.Fatalf("origin of dns = %q", o)
	}
	var msgs []string
	for _, p := range res.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"udpService ns: defined in both", "udp.services.bad.loadBalancer.servers[0].port: line 11: unknown key"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems %q do not mention %q", all, want)
		}
	}
}
