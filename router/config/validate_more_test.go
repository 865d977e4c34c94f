package config

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestValidateMore covers the options of Traefik's remaining grammar:
// problems disable the object (named by its option), and the deprecated
// headers keys and an unused server URL path are warnings (source
// problems) that disable nothing.
func TestValidateMore(t *testing.T) {
	md5 := "alice:staff:0123456789abcdef0123456789abcdef"
	sha := "bob:staff:" + strings.Repeat("ab", 32)
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"digestAuth ok", mw(&Middleware{DigestAuth: &DigestAuth{Users: []string{md5, sha}}}), nil},
		{"digestAuth file only", mw(&Middleware{DigestAuth: &DigestAuth{UsersFile: "/etc/htdigest"}}), nil},
		{"digestAuth nothing", mw(&Middleware{DigestAuth: &DigestAuth{}}), []string{"middleware m@file: digestAuth.users: no users and no usersFile"}},
		{"digestAuth bad hash", mw(&Middleware{DigestAuth: &DigestAuth{Users: []string{"alice:staff:xyz"}}}),
			[]string{`middleware m@file: digestAuth.users[0]: user "alice": want the hex MD5 (32 digits) or SHA-256 (64 digits) of user:realm:password`}},
		{"digestAuth realm mismatch", mw(&Middleware{DigestAuth: &DigestAuth{Users: []string{md5}, Realm: "ops"}}),
			[]string{`middleware m@file: digestAuth.users[0]: user "alice" is in realm "staff", not the middleware's realm "ops": the hash covers the realm, so this user could never log in`}},
		{"digestAuth two realms", mw(&Middleware{DigestAuth: &DigestAuth{Users: []string{md5, "carol:ops:0123456789abcdef0123456789abcdef"}}}),
			[]string{`middleware m@file: digestAuth.users[1]: user "carol" is in realm "ops", another user in realm "staff": set realm`}},
		{"headers ok", mw(&Middleware{Headers: &Headers{AllowedHosts: []string{"a.example", "b.example:8443"}, HostsProxyHeaders: []string{"X-Forwarded-Host"},
			SSLProxyHeaders: map[string]string{"X-Forwarded-Proto": "https"}, PublicKey: `pin-sha256="x"`, IsDevelopment: true}}), nil},
		{"headers bad values", mw(&Middleware{Headers: &Headers{AllowedHosts: []string{"a b"}, HostsProxyHeaders: []string{"X:Bad"},
			SSLProxyHeaders: map[string]string{"X Bad": "https"}, CustomBrowserXSSValue: "1\r\nX-Evil: 1"}}), []string{
			`middleware m@file: headers.allowedHosts[0]: invalid host "a b"`,
			`middleware m@file: headers.customBrowserXSSValue: contains a line break`,
			`middleware m@file: headers.hostsProxyHeaders[0]: invalid header name "X:Bad"`,
			`middleware m@file: headers.sslProxyHeaders: invalid header name "X Bad"`}},
		{"deprecated ssl keys warn", mw(&Middleware{Headers: &Headers{SSLRedirect: true, SSLTemporaryRedirect: true, SSLHost: "secure.example", SSLForceHost: true}}), []string{
			"source m@file: headers.sslForceHost: deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections",
			"source m@file: headers.sslHost: deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections",
			"source m@file: headers.sslRedirect: deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections",
			"source m@file: headers.sslTemporaryRedirect: deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections"}},
		{"bad sslHost", mw(&Middleware{Headers: &Headers{SSLHost: "https://x/"}}), []string{
			`middleware m@file: headers.sslHost: want a host or host:port, got "https://x/"`,
			"source m@file: headers.sslHost: deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections"}},
		{"forwardAuth sizes", mw(&Middleware{ForwardAuth: &ForwardAuth{Address: "http://a", MaxBodySize: i64(-2), MaxResponseBodySize: i64(-1)}}),
			[]string{"middleware m@file: forwardAuth.maxBodySize: invalid size -2 (want -1 or more)"}},
		{"retry timeout", mw(&Middleware{Retry: &Retry{Attempts: 2, Timeout: -1}}), []string{"middleware m@file: retry.timeout: negative duration -1ns"}},
		{"ipv6Subnet", mw(&Middleware{RateLimit: &RateLimit{Average: 1, SourceCriterion: &SourceCriterion{IPStrategy: &IPStrategy{IPv6Subnet: 129}}}}),
			[]string{"middleware m@file: rateLimit.sourceCriterion.ipStrategy.ipv6Subnet: 129 out of 1-128"}},
		{"healthCheck mode", svcCfg(&LoadBalancer{Servers: []Server{{URL: "h2c://10.0.0.1:50051"}}, HealthCheck: &HealthCheck{Mode: "tcp"}}),
			[]string{`service s@file: loadBalancer.healthCheck.mode: unknown mode "tcp" (want http or grpc)`}},
		{"healthCheck grpc", svcCfg(&LoadBalancer{Servers: []Server{{URL: "h2c://10.0.0.1:50051"}}, HealthCheck: &HealthCheck{Mode: "grpc"}}), nil},
		{"cookie domain", svcCfg(&LoadBalancer{Servers: []Server{{URL: "http://10.0.0.1"}}, Sticky: &Sticky{Cookie: &Cookie{Domain: "a b"}}}),
			[]string{`service s@file: loadBalancer.sticky.cookie.domain: invalid cookie domain "a b"`}},
		{"cookie domain ok", svcCfg(&LoadBalancer{Servers: []Server{{URL: "http://10.0.0.1"}}, Sticky: &Sticky{Cookie: &Cookie{Domain: ".example.com"}}}), nil},
		{"server path unused", svcCfg(&LoadBalancer{Servers: []Server{{URL: "http://10.0.0.1/"}, {URL: "http://10.0.0.2/base"}, {URL: "http://10.0.0.3/kept", PreservePath: true}}}),
			[]string{`source s@file: loadBalancer.servers[1].url: the path "/base" of the server URL is not used, as in Traefik: set preservePath: true to send requests under it`}},
		{"tcp middlewares", Config{TCP: TCP{
			Routers:  map[string]*TCPRouter{"r@file": {Rule: "HostSNI(`*`)", Service: "s@file", Middlewares: []string{"ok@file", "nope@file"}}},
			Services: map[string]*TCPService{"s@file": {LoadBalancer: &TCPLoadBalancer{Servers: []TCPServer{{Address: "127.0.0.1:1"}}}}},
			Middlewares: map[string]*TCPMiddleware{
				"ok@file":   {InFlightConn: &TCPInFlightConn{Amount: 1}},
				"two@file":  {InFlightConn: &TCPInFlightConn{Amount: 1}, IPAllowList: &TCPIPAllowList{SourceRange: []string{"::1"}}},
				"zero@file": {InFlightConn: &TCPInFlightConn{}},
				"bad@file":  {IPAllowList: &TCPIPAllowList{SourceRange: []string{"1.2.3.4/40"}}},
			}}}, []string{
			`tcpMiddleware bad@file: ipAllowList.sourceRange[0]: invalid CIDR "1.2.3.4/40"`,
			`tcpMiddleware two@file: want exactly one of ipAllowList or inFlightConn, found 2`,
			`tcpMiddleware zero@file: inFlightConn.amount: must be a positive number of connections, got 0`,
			`tcpRouter r@file: middlewares[1]: TCP middleware "nope@file" does not exist`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Validate(&tt.cfg) {
				got = append(got, p.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func mw(m *Middleware) Config {
	return Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"m@file": m}}}
}

func svcCfg(lb *LoadBalancer) Config {
	return Config{HTTP: HTTP{Services: map[string]*Service{"s@file": {LoadBalancer: lb}}}}
}

// TestDurationMS: a bare number is milliseconds, as Traefik reads a TCP
// terminationDelay; units work too, and the API shows Go's form.
func TestDurationMS(t *testing.T) {
	for in, want := range map[string]string{"100": "100ms", "1.5": "1.5ms", "250ms": "250ms", "2s": "2s", "": "0s"} {
		var d DurationMS
		if err := d.UnmarshalText([]byte(in)); err != nil || d.String() != want {
			t.Errorf("%q: %v, %v; want %s", in, d, err, want)
		}
	}
	if b, _ := json.Marshal(TCPLoadBalancer{TerminationDelay: DurationMS(1500e6)}); string(b) != `{"terminationDelay":"1.5s"}` {
		t.Errorf("JSON %s", b)
	}
	var d DurationMS
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("soon parsed")
	}
}
