package main

import (
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestFormatProblem(t *testing.T) {
	tests := []struct {
		p    config.Problem
		want string
	}{
		{config.Problem{Kind: config.KindRouter, Name: "web@file", Field: "rule", Message: "bad", Origin: "/d/dyn.yaml:7"},
			"/d/dyn.yaml:7: http.routers.web.rule: bad"},
		{config.Problem{Kind: config.KindService, Name: "app@file", Field: "loadBalancer.servers[0].url", Message: "missing"},
			"/d/dyn.yaml: http.services.app.loadBalancer.servers[0].url: missing"},
		{config.Problem{Kind: config.KindTCPRouter, Name: "db@file", Field: "rule", Message: "bad"},
			"/d/dyn.yaml: tcp.routers.db.rule: bad"},
		{config.Problem{Kind: config.KindServersTransport, Name: "ca@file", Field: "rootCAs[0]", Message: "open /x: no such file"},
			"/d/dyn.yaml: http.serversTransports.ca.rootCAs[0]: open /x: no such file"},
		{config.Problem{Kind: config.KindTCPServersTransport, Name: "up@file", Field: "tls.spiffe", Message: "not supported"},
			"/d/dyn.yaml: tcp.serversTransports.up.tls.spiffe: not supported"},
		{config.Problem{Kind: config.KindSource, Name: "/d/x.yaml", Message: "line 3: did not parse"},
			"/d/x.yaml: line 3: did not parse"},
	}
	for _, tt := range tests {
		if got := formatProblem(tt.p, "/d/dyn.yaml"); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
