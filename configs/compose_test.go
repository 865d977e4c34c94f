package configs

import (
	"os"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/providers/labels"
)

// TestComposeExample reads configs/compose.yaml as Docker Compose would
// hand it to the containers: Ferry accepts the flags and variables of its
// service, and serves the labelled service on the network it names.
func TestComposeExample(t *testing.T) {
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := decode.ParseYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	svc := doc.Get("services").Get("ferry")
	var args []string
	for _, n := range svc.Get("command").List {
		args = append(args, n.Value)
	}
	var env []string
	for _, k := range svc.Get("environment").Keys {
		env = append(env, k+"="+svc.Get("environment").Get(k).Value)
	}
	flags, rest, problems := SplitArgs(args, func(string) (bool, bool) { return false, false })
	if len(rest) > 0 || len(problems) > 0 {
		t.Fatalf("command %q: not flags %q, problems %q", args, rest, problems)
	}
	s, problems, _ := LoadSources(Sources{Flags: flags, Environ: env})
	if len(problems) > 0 {
		t.Fatalf("Ferry refuses the compose example's flags: %q", problems)
	}
	netName := doc.Get("networks").Get("web").Get("name").Value
	if s.EntryPoints["web"] == nil || s.EntryPoints["web"].Address != ":80" || s.Providers.Docker == nil ||
		s.Providers.Docker.Network != netName || s.API == nil || !s.API.Insecure || s.Log.Level != "info" {
		t.Errorf("compose example: %+v (network %q)", s, netName)
	}
	if !strings.Contains(svc.Get("volumes").List[0].Value, "/var/run/docker.sock:/var/run/docker.sock") {
		t.Error("the Docker socket is not mounted")
	}

	whoami := map[string]string{}
	for _, n := range doc.Get("services").Get("whoami").Get("labels").List {
		k, v, _ := strings.Cut(n.Value, "=")
		whoami[k] = v
	}
	prefix := s.Providers.Docker.LabelPrefix
	if prefix == "" {
		prefix = "ferry"
	}
	rule, err := labels.ParseDefaultRule("")
	if err != nil {
		t.Fatal(err)
	}
	cfg, lp := labels.Build(labels.Workload{Name: "whoami", ContainerName: "whoami", Labels: whoami, Host: "192.0.2.1", Origin: "whoami"},
		labels.Options{Prefix: prefix, DefaultRule: rule, ExposedByDefault: s.Providers.Docker.ExposedByDefault})
	if len(lp) > 0 || cfg == nil {
		t.Fatalf("whoami's labels: %v", lp)
	}
	r := cfg.HTTP.Routers["whoami"]
	svcs := cfg.HTTP.Services["whoami"]
	if r == nil || r.Rule != "Host(`whoami.localhost`)" || svcs == nil || svcs.LoadBalancer == nil ||
		len(svcs.LoadBalancer.Servers) != 1 || svcs.LoadBalancer.Servers[0].URL != "http://192.0.2.1:80" {
		t.Errorf("whoami: router %+v service %+v", r, svcs)
	}
}
