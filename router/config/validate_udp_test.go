package config

import (
	"reflect"
	"testing"
)

func TestValidateUDP(t *testing.T) {
	zero, neg := 0, -1
	c := &Config{UDP: UDP{
		Routers: map[string]*UDPRouter{
			"ok":        {Service: "dns"},
			"nosvc":     {},
			"missing":   {Service: "nope"},
			"to-broken": {Service: "bad"},
		},
		Services: map[string]*UDPService{
			"dns":   {LoadBalancer: &UDPLoadBalancer{Servers: []UDPServer{{Address: "127.0.0.1:53"}}}},
			"bad":   {LoadBalancer: &UDPLoadBalancer{Servers: []UDPServer{{Address: "127.0.0.1"}, {Address: "ns:1", Weight: &neg}}}},
			"empty": {LoadBalancer: &UDPLoadBalancer{}},
			"none":  {},
			"idle":  {LoadBalancer: &UDPLoadBalancer{Servers: []UDPServer{{Address: "ns:53", Weight: &zero}}}},
		},
	}}
	var got []string
	for _, p := range Validate(c) {
		got = append(got, p.Error())
	}
	want := []string{
		`udpRouter missing: service: UDP service "nope" does not exist`,
		`udpRouter nosvc: service: no service`,
		`udpService bad: loadBalancer.servers[0].address: invalid address "127.0.0.1": want host:port`,
		`udpService bad: loadBalancer.servers[1].weight: negative weight -1`,
		`udpService empty: loadBalancer.servers: no servers`,
		`udpService idle: loadBalancer.servers: every server has weight 0`,
		`udpService none: no loadBalancer`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestQualifiedMergeUDP(t *testing.T) {
	c := &Config{UDP: UDP{
		Routers:  map[string]*UDPRouter{"dns": {Service: "ns", EntryPoints: []string{"udp"}}, "ext": {Service: "ns@other"}},
		Services: map[string]*UDPService{"ns": {LoadBalancer: &UDPLoadBalancer{Servers: []UDPServer{{Address: "127.0.0.1:53"}}}}},
	}}
	q := c.Qualified("file")
	if r := q.UDP.Routers["dns@file"]; r == nil || r.Service != "ns@file" {
		t.Fatalf("qualified router dns@file = %+v", r)
	}
	if r := q.UDP.Routers["ext@file"]; r == nil || r.Service != "ns@other" {
		t.Fatalf("qualified router ext@file = %+v", r)
	}
	if _, ok := q.UDP.Services["ns@file"]; !ok {
		t.Fatalf("qualified services = %v", q.UDP.Services)
	}
	if c.UDP.Routers["dns"].Service != "ns" {
		t.Fatal("Qualified modified its input")
	}
	var dst Config
	Merge(&dst, q)
	Merge(&dst, &Config{UDP: UDP{Services: map[string]*UDPService{"ns@other": {}}}})
	if len(dst.UDP.Routers) != 2 || len(dst.UDP.Services) != 2 {
		t.Fatalf("merged UDP = %+v", dst.UDP)
	}
}
