package config

import (
	"reflect"
	"testing"
)

func TestValidateTCP(t *testing.T) {
	three := 3
	neg := -1
	c := &Config{TCP: TCP{
		Routers: map[string]*TCPRouter{
			"ok":      {Rule: "HostSNI(`*`)", Service: "lb"},
			"norule":  {Service: "lb"},
			"missing": {Rule: "HostSNI(`*`)", Service: "nope"},
		},
		Services: map[string]*TCPService{
			"lb": {LoadBalancer: &TCPLoadBalancer{Servers: []TCPServer{{Address: "127.0.0.1:5432", Weight: &three}}}},
			"bad": {LoadBalancer: &TCPLoadBalancer{
				Servers:       []TCPServer{{Address: "127.0.0.1"}, {Address: "db:99999"}, {Address: "db:1", Weight: &neg}},
				ProxyProtocol: &ProxyProtocol{Version: 3},
			}},
			"both":  {LoadBalancer: &TCPLoadBalancer{}, Weighted: &TCPWeighted{Services: []TCPWeightedService{{Name: "lb"}}}},
			"loopA": {Weighted: &TCPWeighted{Services: []TCPWeightedService{{Name: "loopB"}}}},
			"loopB": {Weighted: &TCPWeighted{Services: []TCPWeightedService{{Name: "loopA"}, {Name: "ghost"}}}},
		},
	}}
	var got []string
	for _, p := range Validate(c) {
		got = append(got, p.Error())
	}
	want := []string{
		`tcpRouter missing: service: TCP service "nope" does not exist`,
		`tcpRouter norule: rule: no rule`,
		`tcpService bad: loadBalancer.proxyProtocol.version: version 3 is not 1 or 2`,
		`tcpService bad: loadBalancer.servers[0].address: invalid address "127.0.0.1": want host:port`,
		`tcpService bad: loadBalancer.servers[1].address: invalid address "db:99999": port must be 1 to 65535`,
		`tcpService bad: loadBalancer.servers[2].weight: negative weight -1`,
		`tcpService both: want exactly one of loadBalancer or weighted`,
		`tcpService loopA: weighted.services: services refer to each other in a cycle`,
		`tcpService loopB: weighted.services: services refer to each other in a cycle`,
		`tcpService loopB: weighted.services[1].name: TCP service "ghost" does not exist`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%q\nwant:\n%q", got, want)
	}
}

func TestQualifiedAndMergeTCP(t *testing.T) {
	c := &Config{TCP: TCP{
		Routers: map[string]*TCPRouter{"db": {Rule: "HostSNI(`*`)", Service: "pg"}},
		Services: map[string]*TCPService{
			"pg":  {LoadBalancer: &TCPLoadBalancer{Servers: []TCPServer{{Address: "a:1"}}}},
			"mix": {Weighted: &TCPWeighted{Services: []TCPWeightedService{{Name: "pg"}, {Name: "x@other"}}}},
		},
	}}
	q := c.Qualified("file")
	if r := q.TCP.Routers["db@file"]; r == nil || r.Service != "pg@file" {
		t.Fatalf("router not qualified: %+v", q.TCP.Routers)
	}
	w := q.TCP.Services["mix@file"].Weighted.Services
	if w[0].Name != "pg@file" || w[1].Name != "x@other" {
		t.Errorf("weighted members %+v", w)
	}
	if c.TCP.Services["mix"].Weighted.Services[0].Name != "pg" {
		t.Error("Qualified modified its input")
	}
	dst := &Config{}
	Merge(dst, q)
	Merge(dst, c.Qualified("docker"))
	if len(dst.TCP.Routers) != 2 || len(dst.TCP.Services) != 4 {
		t.Errorf("merged %d routers and %d services, want 2 and 4", len(dst.TCP.Routers), len(dst.TCP.Services))
	}
}
