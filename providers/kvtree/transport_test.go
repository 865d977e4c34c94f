package kvtree

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// TestBuildServersTransports: transports and the references to them are
// keys like any other; a bad key disables the transport it belongs to.
func TestBuildServersTransports(t *testing.T) {
	res := Build(map[string]string{
		"ferry/http/serversTransports/t/rootCAs/0":                                "/etc/ca.pem",
		"ferry/http/serversTransports/t/serverName":                               "backend.internal",
		"ferry/http/serversTransports/t/forwardingTimeouts/responseHeaderTimeout": "2s",
		"ferry/http/services/app/loadbalancer/servers/0/url":                      "https://10.0.0.1",
		"ferry/http/services/app/loadbalancer/serversTransport":                   "t",
		"ferry/tcp/serverstransports/u/tls/insecureSkipVerify":                    "true",
		"ferry/tcp/serverstransports/u/dialTimeout":                               "soon",
	}, "ferry", "etcd")
	tr := res.Config.HTTP.ServersTransports["t"]
	if tr == nil || tr.RootCAs[0] != "/etc/ca.pem" || tr.ServerName != "backend.internal" ||
		time.Duration(tr.ForwardingTimeouts.ResponseHeaderTimeout) != 2*time.Second {
		t.Errorf("transport: %+v", tr)
	}
	if ref := res.Config.HTTP.Services["app"].LoadBalancer.ServersTransport; ref != "t" {
		t.Errorf("reference %q", ref)
	}
	if u := res.Config.TCP.ServersTransports["u"]; u == nil || u.TLS == nil || !u.TLS.InsecureSkipVerify {
		t.Errorf("TCP transport: %+v", u)
	}
	if o := res.Origins[config.ObjectID{Kind: config.KindServersTransport, Name: "t"}]; o != "ferry/http/serversTransports/t" {
		t.Errorf("origin %q", o)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != config.KindTCPServersTransport || res.Problems[0].Name != "u" ||
		res.Problems[0].Field != "dialTimeout" || !strings.Contains(res.Problems[0].Message, `"ferry/tcp/serverstransports/u/dialTimeout" = "soon"`) {
		t.Errorf("problems: %v", res.Problems)
	}
}
