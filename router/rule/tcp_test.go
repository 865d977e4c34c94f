package rule

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func tcpReq(sni, ip string, alpn ...string) *TCPRequest {
	r := &TCPRequest{SNI: sni, ALPN: alpn}
	if ip != "" {
		r.ClientIP = netip.MustParseAddr(ip)
	}
	return r
}

func TestTCPMatch(t *testing.T) {
	tests := []struct {
		name string
		rule string
		req  *TCPRequest
		want bool
	}{
		{"catch-all with TLS", "HostSNI(`*`)", tcpReq("db.test", "10.0.0.1"), true},
		{"catch-all without TLS", "HostSNI(`*`)", tcpReq("", "10.0.0.1"), true},
		{"exact name", "HostSNI(`db.test`)", tcpReq("db.test", "10.0.0.1"), true},
		{"name is case-insensitive in the rule", "HostSNI(`DB.Test.`)", tcpReq("db.test", ""), true},
		{"other name", "HostSNI(`db.test`)", tcpReq("api.test", ""), false},
		{"no SNI", "HostSNI(`db.test`)", tcpReq("", ""), false},
		{"one of several", "HostSNI(`a.test`) || HostSNI(`db.test`)", tcpReq("db.test", ""), true},
		{"matcher name in any case", "hostsni(`db.test`) && CLIENTIP(`10.0.0.0/8`)", tcpReq("db.test", "10.0.0.1"), true},
		{"regexp", "HostSNIRegexp(`^[a-z]+\\.test$`)", tcpReq("db.test", ""), true},
		{"regexp miss", "HostSNIRegexp(`^[a-z]+\\.test$`)", tcpReq("db.example", ""), false},
		{"client IP in range", "ClientIP(`10.0.0.0/8`)", tcpReq("", "10.1.2.3"), true},
		{"client IP mapped", "ClientIP(`10.0.0.0/8`)", tcpReq("", "::ffff:10.1.2.3"), true},
		{"client IP outside", "ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)", tcpReq("", "192.168.1.1"), false},
		{"client IP unknown", "ClientIP(`10.0.0.0/8`)", tcpReq("", ""), false},
		{"ALPN offered", "ALPN(`h2`)", tcpReq("x", "", "http/1.1", "h2"), true},
		{"ALPN not offered", "ALPN(`postgresql`)", tcpReq("x", "", "h2"), false},
		{"and", "HostSNI(`db.test`) && ClientIP(`127.0.0.1`)", tcpReq("db.test", "127.0.0.1"), true},
		{"and fails", "HostSNI(`db.test`) && ClientIP(`127.0.0.1`)", tcpReq("db.test", "127.0.0.2"), false},
		{"or", "HostSNI(`a.test`) || ALPN(`mqtt`)", tcpReq("b.test", "", "mqtt"), true},
		{"not", "!HostSNI(`a.test`)", tcpReq("b.test", ""), true},
		{"not catch-all", "!HostSNI(`*`)", tcpReq("", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompileTCP(tt.rule)
			if err != nil {
				t.Fatalf("CompileTCP(%q): %v", tt.rule, err)
			}
			if got := r.Match(tt.req); got != tt.want {
				t.Errorf("%s matches %+v = %v, want %v", tt.rule, tt.req, got, tt.want)
			}
		})
	}
}

func TestTCPHostsAndDomains(t *testing.T) {
	tests := []struct {
		rule           string
		hosts, domains []string
	}{
		{"HostSNI(`*`)", nil, nil},
		{"HostSNI(`B.test`) || HostSNI(`a.test`)", []string{"a.test", "b.test"}, []string{"a.test", "b.test"}},
		{"HostSNI(`a.test`) && ALPN(`h2`)", []string{"a.test"}, []string{"a.test"}},
		{"HostSNI(`a.test`) || HostSNI(`*`)", nil, []string{"a.test"}},
		{"HostSNI(`a.test`) || ClientIP(`::1`)", nil, []string{"a.test"}},
		{"HostSNIRegexp(`a`)", nil, nil},
		{"!HostSNI(`a.test`)", nil, nil},
		{"HostSNI(`a.test`) && HostSNI(`b.test`)", []string{}, []string{"a.test", "b.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := CompileTCP(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Hosts(); !slices.Equal(got, tt.hosts) || (got == nil) != (tt.hosts == nil) {
				t.Errorf("Hosts() = %#v, want %#v", got, tt.hosts)
			}
			if got := r.Domains(); !slices.Equal(got, tt.domains) {
				t.Errorf("Domains() = %#v, want %#v", got, tt.domains)
			}
		})
	}
}

func TestTCPCompileErrors(t *testing.T) {
	tests := []struct {
		rule, wantMsg string
	}{
		{"HostSNl(`a`)", `unknown matcher "HostSNl" in rule syntax v3 (did you mean HostSNI?)`},
		{"HostSNI(`a.test`, `b.test`)", "HostSNI: expected 1 argument, got 2 (rule syntax v3: combine several with ||, as in HostSNI(`a`) || HostSNI(`b`)); the rule is valid in rule syntax v2: set the router's ruleSyntax to v2"},
		{"HostSNIRegexp(`^[a-z]+\\.test$`) || HostSNIRegexp(``)", `HostSNIRegexp: argument 1 "": empty regular expression (it would match everything)`},
		{"HostSNIRegexp(`^bücher`)", `HostSNIRegexp: argument 1 "^bücher": non-ASCII characters are not allowed, use the punycode (xn--) form`},
		{"ALPN(`h2`, `http/1.1`)", "ALPN: expected 1 argument, got 2 (rule syntax v3: combine several with ||, as in ALPN(`a`) || ALPN(`b`)); the rule is valid in rule syntax v2: set the router's ruleSyntax to v2"},
		{"ALPN(`acme-tls/1`)", `ALPN: argument 1 "acme-tls/1": acme-tls/1 is reserved for TLS-ALPN-01 challenges, which Ferry answers itself`},
		{"HostSNI(`*.test`)", `HostSNI: argument 1 "*.test": wildcards are not supported, use HostSNIRegexp`},
		{"HostSNI(`a.test:443`)", `HostSNI: argument 1 "a.test:443": a host must not include a port (the request's port is ignored when matching)`},
		{"HostSNIRegexp(`(`)", "HostSNIRegexp: argument 1 \"(\": invalid regexp: error parsing regexp: missing closing ): `(`"},
		{"ClientIP(`nope`)", `ClientIP: argument 1 "nope": invalid IP address: ParseAddr("nope"): unable to parse IP`},
		{"ALPN(``)", `ALPN: argument 1 "": empty protocol`},
		{"PathPrefix(`/`)", `unknown matcher "PathPrefix" in rule syntax v3`},
		{"HostSNI()", "HostSNI: expected 1 argument, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := CompileTCP(tt.rule)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("CompileTCP(%q) = %v, want a *ParseError", tt.rule, err)
			}
			if pe.Msg != tt.wantMsg {
				t.Errorf("message %q, want %q", pe.Msg, tt.wantMsg)
			}
		})
	}
}

func TestHTTPRejectsTCPMatchers(t *testing.T) {
	if _, err := Compile("HostSNI(`a`)"); err == nil {
		t.Fatal("HTTP rule accepted HostSNI")
	}
}

// fuzzTCP checks a TCP rule text in a syntax as fuzzHTTP does.
func fuzzTCP(t *testing.T, syntax Syntax, expr, sni, alpn string) {
	r, err := CompileTCPSyntax(expr, syntax)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(expr) {
			t.Fatalf("CompileTCPSyntax(%q, %s): bad error %v", expr, syntax, err)
		}
		return
	}
	r2, err := CompileTCPSyntax(r.String(), syntax)
	if err != nil || r2.String() != r.String() {
		t.Fatalf("CompileTCPSyntax(%q, %s): String %q does not round-trip: %v", expr, syntax, r.String(), err)
	}
	req := &TCPRequest{SNI: sni, ALPN: []string{alpn}}
	if r.Match(req) != r2.Match(req) {
		t.Fatalf("%q and its String %q disagree on %+v", expr, r.String(), req)
	}
	if hosts := r.Hosts(); hosts != nil && r.Match(req) && !slices.Contains(hosts, sni) {
		t.Fatalf("%q matched SNI %q outside its hosts %v", expr, sni, hosts)
	}
}

var tcpSeeds = []string{
	"HostSNI(`*`)",
	"HostSNI(`a.test`) || hostsni(`B.test.`) && !ALPN(`h2`)",
	"HostSNIRegexp(`^db[0-9]+\\.test$`) || ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)",
	"HostSNI(`a.test`, `b.test`) && ALPN(`h2`, `http/1.1`)",
	"HostSNIRegexp(`{db:db[0-9]+}.test`, `{x}.example`)",
	"HostSNI(`*`, `a`)",
	"HostSNI(`[::1]`)",
	"(ALPN(`x`)",
}

func FuzzCompileTCP(f *testing.F) {
	for _, s := range tcpSeeds {
		f.Add(s, "a.test", "h2")
	}
	f.Fuzz(func(t *testing.T, expr, sni, alpn string) { fuzzTCP(t, SyntaxV3, expr, sni, alpn) })
}

func FuzzCompileTCPV2(f *testing.F) {
	for _, s := range tcpSeeds {
		f.Add(s, "db12.test", "h2")
	}
	f.Fuzz(func(t *testing.T, expr, sni, alpn string) { fuzzTCP(t, SyntaxV2, expr, sni, alpn) })
}
