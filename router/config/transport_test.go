package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateServersTransports(t *testing.T) {
	lb := func(transport string) *Service {
		return &Service{LoadBalancer: &LoadBalancer{Servers: []Server{{URL: "https://10.0.0.1"}}, ServersTransport: transport}}
	}
	tcpLB := func(transport string) *TCPService {
		return &TCPService{LoadBalancer: &TCPLoadBalancer{Servers: []TCPServer{{Address: "10.0.0.1:5432"}}, ServersTransport: transport}}
	}
	c := &Config{
		HTTP: HTTP{
			ServersTransports: map[string]*ServersTransport{
				"ok@file": {ServerName: "backend.internal", RootCAs: []string{"/etc/ca.pem"}, MaxIdleConnsPerHost: -1,
					Certificates: []Certificate{{CertFile: "/c.pem", KeyFile: "/k.pem"}}, PeerCertURI: "spiffe://example.org/b",
					ForwardingTimeouts: &ForwardingTimeouts{DialTimeout: Duration(time.Second), ResponseHeaderTimeout: Duration(time.Second)}},
				"bad@file": {RootCAs: []string{" "}, Certificates: []Certificate{{CertFile: "/c.pem"}}, ServerName: "a b",
					PeerCertURI: "no-scheme", ForwardingTimeouts: &ForwardingTimeouts{ResponseHeaderTimeout: Duration(-time.Second)}},
				"spiffe@file": {Spiffe: &Spiffe{IDs: []string{"spiffe://example.org/b"}}},
			},
			Services: map[string]*Service{
				"a@file":       lb("ok@file"),
				"default@file": lb(DefaultTransport),
				"none@file":    lb(""),
				"ghost@file":   lb("nope@file"),
			},
		},
		TCP: TCP{
			ServersTransports: map[string]*TCPServersTransport{
				"t@file": {DialTimeout: Duration(-1), TerminationDelay: Duration(-1), ProxyProtocol: &ProxyProtocol{Version: 3},
					TLS: &TCPTransportTLS{Certificates: []Certificate{{KeyFile: "/k.pem"}}, Spiffe: &Spiffe{}}},
				"fine@file": {DialKeepAlive: Duration(-1), TLS: &TCPTransportTLS{InsecureSkipVerify: true}},
			},
			Services: map[string]*TCPService{
				"db@file":    tcpLB("fine@file"),
				"ghost@file": tcpLB("nope@file"),
			},
		},
	}
	var got []string
	for _, p := range Validate(c) {
		got = append(got, p.Error())
	}
	want := []string{
		`serversTransport bad@file: certificates[0].keyFile: missing`,
		`serversTransport bad@file: forwardingTimeouts.responseHeaderTimeout: negative duration -1s`,
		`serversTransport bad@file: peerCertURI: want a URI such as spiffe://example.org/backend, got "no-scheme"`,
		`serversTransport bad@file: rootCAs[0]: empty (want a file path or PEM text)`,
		`serversTransport bad@file: serverName: invalid server name "a b"`,
		`serversTransport spiffe@file: spiffe: ` + spiffeRefusal,
		`service ghost@file: loadBalancer.serversTransport: servers transport "nope@file" does not exist`,
		`tcpServersTransport t@file: dialTimeout: negative duration -1ns`,
		`tcpServersTransport t@file: proxyProtocol.version: version 3 is not 1 or 2`,
		`tcpServersTransport t@file: terminationDelay: negative duration -1ns`,
		`tcpServersTransport t@file: tls.certificates[0].certFile: missing`,
		`tcpServersTransport t@file: tls.spiffe: ` + spiffeRefusal,
		`tcpService ghost@file: loadBalancer.serversTransport: TCP servers transport "nope@file" does not exist`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestValidateStaticServersTransport(t *testing.T) {
	if got := ValidateServersTransport(&ServersTransport{Spiffe: &Spiffe{}}); len(got) != 1 || !strings.HasPrefix(got[0], "spiffe: not supported") {
		t.Errorf("ValidateServersTransport = %q", got)
	}
	if got := ValidateServersTransport(nil); got != nil {
		t.Errorf("nil transport: %q", got)
	}
	if got := ValidateTCPServersTransport(&TCPServersTransport{DialTimeout: Duration(-1)}); len(got) != 1 || got[0] != "dialTimeout: negative duration -1ns" {
		t.Errorf("ValidateTCPServersTransport = %q", got)
	}
}

// TestQualifiedTransports: transports get their provider's name, and a
// service's reference is qualified unless it names a provider already
// (mytransport@file from a label, default@internal).
func TestQualifiedTransports(t *testing.T) {
	c := &Config{
		HTTP: HTTP{
			ServersTransports: map[string]*ServersTransport{"mine": {InsecureSkipVerify: true}},
			Services: map[string]*Service{
				"local":   {LoadBalancer: &LoadBalancer{ServersTransport: "mine"}},
				"crossed": {LoadBalancer: &LoadBalancer{ServersTransport: "mytransport@file"}},
				"default": {LoadBalancer: &LoadBalancer{ServersTransport: DefaultTransport}},
				"plain":   {LoadBalancer: &LoadBalancer{}},
			},
		},
		TCP: TCP{
			ServersTransports: map[string]*TCPServersTransport{"tt": {}},
			Services:          map[string]*TCPService{"db": {LoadBalancer: &TCPLoadBalancer{ServersTransport: "tt"}}},
		},
	}
	q := c.Qualified("docker")
	if q.HTTP.ServersTransports["mine@docker"] == nil || q.TCP.ServersTransports["tt@docker"] == nil {
		t.Fatalf("transports not qualified: %v %v", q.HTTP.ServersTransports, q.TCP.ServersTransports)
	}
	for name, want := range map[string]string{"local@docker": "mine@docker", "crossed@docker": "mytransport@file",
		"default@docker": DefaultTransport, "plain@docker": ""} {
		if got := q.HTTP.Services[name].LoadBalancer.ServersTransport; got != want {
			t.Errorf("%s: serversTransport %q, want %q", name, got, want)
		}
	}
	if got := q.TCP.Services["db@docker"].LoadBalancer.ServersTransport; got != "tt@docker" {
		t.Errorf("TCP serversTransport %q, want tt@docker", got)
	}
	if c.HTTP.Services["local"].LoadBalancer.ServersTransport != "mine" || c.TCP.Services["db"].LoadBalancer.ServersTransport != "tt" {
		t.Error("Qualified modified its input")
	}
	merged := &Config{}
	Merge(merged, q)
	if merged.HTTP.ServersTransports["mine@docker"] == nil || merged.TCP.ServersTransports["tt@docker"] == nil {
		t.Error("Merge dropped the transports")
	}
}

func TestTransportRedacted(t *testing.T) {
	c := Config{
		HTTP: HTTP{ServersTransports: map[string]*ServersTransport{"t": {
			RootCAs: []string{testCert}, Certificates: []Certificate{{CertFile: testCert, KeyFile: testKey}, {CertFile: "/c.pem", KeyFile: "/k.pem"}}}}},
		TCP: TCP{ServersTransports: map[string]*TCPServersTransport{"u": {TLS: &TCPTransportTLS{
			Certificates: []Certificate{{CertFile: "/c.pem", KeyFile: testKey}}}}}},
	}
	before := mustJSON(t, &c)
	shown := mustJSON(t, c.Redacted())
	if strings.Contains(shown, "KEYMATERIAL") {
		t.Errorf("private key shown:\n%s", shown)
	}
	for _, kept := range []string{"MIIBCERTxyz", "/k.pem", "/c.pem"} {
		if !strings.Contains(shown, kept) {
			t.Errorf("%q not shown:\n%s", kept, shown)
		}
	}
	if after := mustJSON(t, &c); after != before {
		t.Error("Redacted modified the configuration")
	}
	plain := &ServersTransport{InsecureSkipVerify: true}
	if plain.Redacted() != plain {
		t.Error("a transport without secrets was copied")
	}
}
