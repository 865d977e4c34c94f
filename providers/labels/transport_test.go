package labels

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// TestBuildServersTransport: a labelled service names a transport (here one
// from another provider, as Traefik users write it), and transports can be
// defined by labels too.
func TestBuildServersTransport(t *testing.T) {
	cfg, problems := Build(workload("web", map[string]string{
		"ferry.enable": "true",
		"ferry.http.services.web.loadbalancer.serverstransport":                      "mytransport@file",
		"ferry.http.services.web.loadbalancer.server.scheme":                         "https",
		"ferry.http.serversTransports.mine.insecureSkipVerify":                       "true",
		"ferry.http.serverstransports.mine.rootcas":                                  "/etc/ca1.pem,/etc/ca2.pem",
		"ferry.http.serverstransports.mine.forwardingtimeouts.responseheadertimeout": "2s",
		"ferry.http.serverstransports.mine.certificates[0].certfile":                 "/etc/c.pem",
		"ferry.http.serverstransports.mine.certificates[0].keyfile":                  "/etc/k.pem",
		"ferry.http.serverstransports.broken.maxidleconnsperhost":                    "lots",
		"ferry.tcp.services.db.loadbalancer.serverstransport":                        "tlsup",
		"ferry.tcp.services.db.loadbalancer.server.port":                             "5432",
		"ferry.tcp.routers.db.rule":                                                  "HostSNI(`*`)",
		"ferry.tcp.serverstransports.tlsup.tls.servername":                           "db.internal",
		"ferry.tcp.serverstransports.tlsup.dialtimeout":                              "3s",
	}, "80"), Options{Prefix: "ferry"})
	if got := cfg.HTTP.Services["web"].LoadBalancer; got.ServersTransport != "mytransport@file" || got.Servers[0].URL != "https://10.0.0.2:80" {
		t.Errorf("service: %+v", got)
	}
	mine := cfg.HTTP.ServersTransports["mine"]
	if mine == nil || !mine.InsecureSkipVerify || strings.Join(mine.RootCAs, " ") != "/etc/ca1.pem /etc/ca2.pem" ||
		mine.ForwardingTimeouts == nil || time.Duration(mine.ForwardingTimeouts.ResponseHeaderTimeout) != 2*time.Second ||
		len(mine.Certificates) != 1 || mine.Certificates[0].KeyFile != "/etc/k.pem" {
		t.Errorf("transport from labels: %+v", mine)
	}
	if db := cfg.TCP.Services["db"].LoadBalancer; db.ServersTransport != "tlsup" {
		t.Errorf("TCP service: %+v", db)
	}
	if tr := cfg.TCP.ServersTransports["tlsup"]; tr == nil || tr.TLS == nil || tr.TLS.ServerName != "db.internal" || time.Duration(tr.DialTimeout) != 3*time.Second {
		t.Errorf("TCP transport from labels: %+v", tr)
	}
	if len(problems) != 1 || problems[0].Kind != config.KindServersTransport || problems[0].Name != "broken" ||
		!strings.Contains(problems[0].Message, `label ferry.http.serverstransports.broken.maxidleconnsperhost="lots"`) {
		t.Errorf("problems: %v, want one naming the broken transport's label", problems)
	}
}

func TestMergeServersTransports(t *testing.T) {
	part := func(origin string, insecure bool) Part {
		return Part{Origin: origin, Config: &config.Config{HTTP: config.HTTP{
			ServersTransports: map[string]*config.ServersTransport{"t": {InsecureSkipVerify: insecure}}}}}
	}
	m := Merge([]Part{part(`container "a"`, true), part(`container "b"`, true)})
	if m.Config.HTTP.ServersTransports["t"] == nil || len(m.Problems) != 0 {
		t.Fatalf("the same transport twice: %v, %v", m.Config.HTTP.ServersTransports, m.Problems)
	}
	if o := m.Origins[config.ObjectID{Kind: config.KindServersTransport, Name: "t"}]; o != `container "a", container "b"` {
		t.Errorf("origin %q", o)
	}
	m = Merge([]Part{part(`container "a"`, true), part(`container "b"`, false)})
	if len(m.Problems) != 1 || m.Problems[0].Kind != config.KindServersTransport ||
		m.Problems[0].Message != `defined differently by container "a" and container "b"` {
		t.Errorf("conflicting definitions: %v", m.Problems)
	}
}
