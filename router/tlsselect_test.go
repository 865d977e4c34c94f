package router

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

func tcpRequest(sni string) *rule.TCPRequest { return &rule.TCPRequest{SNI: sni} }

// serveTLS sends a request for host over a TLS connection whose server
// name was sni, through entry point ep's secure handler, and returns what
// the upstream saw of the client certificate header and the status.
func serveTLS(t *testing.T, sw *Switcher, ep int, sni, host string, header ...string) (http.Header, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://"+host+"/", nil)
	req.TLS = &tls.ConnectionState{ServerName: sni, HandshakeComplete: true}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	sw.Handler(ep, true).ServeHTTP(rec, req)
	return req.Header, rec.Code
}

func TestMisdirectedRequests(t *testing.T) {
	up := backend(t, "up")
	sw := tlsSwitcher(t)
	sw.Apply(Input{Config: &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"mtls@file":   tlsRouter("Host(`secure.test`)", "mtls@file"),
				"open@file":   tlsRouter("Host(`open.test`)", ""),
				"open2@file":  tlsRouter("Host(`open2.test`)", ""),
				"mtls2@file":  tlsRouter("Host(`secure2.test`)", "mtls@file"),
				"public@file": tlsRouter("PathPrefix(`/`)", ""),
			},
			Services: map[string]*config.Service{"s": lbService(up)},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{"mtls@file": {ClientAuth: config.ClientAuth{ClientAuthType: "RequireAnyClientCert"}}}},
	}})
	tests := []struct {
		name, sni, host string
		want            int
	}{
		{"same name", "secure.test", "secure.test", 200},
		{"another name with the same options", "open.test", "open2.test", 200},
		{"another name with the same (non-default) options", "secure.test", "secure2.test", 200},
		{"a name without client certificates reaching one that asks for them", "open.test", "secure.test", 421},
		{"no server name reaching one that asks for them", "", "secure.test", 421},
		{"the other way round", "secure.test", "open.test", 421},
		{"host with port and case", "SECURE.test", "Secure.Test:443", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := serveTLS(t, sw, 0, tt.sni, tt.host); got != tt.want {
				t.Fatalf("SNI %q, Host %q: status %d, want %d", tt.sni, tt.host, got, tt.want)
			}
		})
	}
}

// TestClientAuthNeverWeakened: a router whose TLS options ask for client
// certificates is not served on a connection whose handshake did not ask
// for them, even when the routers of its host disagree (the host gets the
// default options) or its rule names no host: 421, not a weaker service.
func TestClientAuthNeverWeakened(t *testing.T) {
	up := backend(t, "up")
	sw := tlsSwitcher(t)
	tbl := sw.Apply(Input{Config: &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"admin@file":  tlsRouter("Host(`shared.test`) && PathPrefix(`/admin`)", "mtls@file"),
				"site@file":   tlsRouter("Host(`shared.test`)", ""),
				"nohost@file": tlsRouter("PathPrefix(`/internal`)", "mtls@file"),
				"mtls@file":   tlsRouter("Host(`secure.test`)", "mtls@file"),
			},
			Services: map[string]*config.Service{"s": lbService(up)},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{"mtls@file": {ClientAuth: config.ClientAuth{ClientAuthType: "RequireAnyClientCert"}}}},
	}})
	for _, name := range []string{"admin@file", "nohost@file"} {
		if r := routerInfo(t, tbl, name); r.Status != StatusEnabled || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "421") {
			t.Errorf("%s: status %s, warnings %q; want enabled, warned that it answers 421", name, r.Status, r.Warnings)
		}
	}
	tests := []struct {
		name, sni, host, path string
		want                  int
	}{
		{"the host's default options serve the router without client certificates", "shared.test", "shared.test", "/", 200},
		{"the router asking for them, on the same connection", "shared.test", "shared.test", "/admin", 421},
		{"a rule without host, on a connection without them", "shared.test", "shared.test", "/internal", 421},
		{"a rule without host, on a connection that asked for them", "secure.test", "secure.test", "/internal", 200},
		{"its own host", "secure.test", "secure.test", "/", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "https://"+tt.host+tt.path, nil)
			req.TLS = &tls.ConnectionState{ServerName: tt.sni, HandshakeComplete: true}
			sw.Handler(0, true).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("SNI %q, %s%s: status %d, want %d", tt.sni, tt.host, tt.path, rec.Code, tt.want)
			}
		})
	}
}

func TestClientCertHeadersAlwaysStripped(t *testing.T) {
	sw := tlsSwitcher(t)
	sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"r": {Rule: "PathPrefix(`/`)", Service: "s"}},
		Services: map[string]*config.Service{"s": lbService(backend(t, "up"))},
	}}})
	for _, secure := range []bool{false, true} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://a.test/", nil)
		req.Header["X-Forwarded-Tls-Client-Cert"] = []string{"forged"}
		req.Header["X-Forwarded-Tls-Client-Cert-Info"] = []string{"forged"}
		req.Header["X-Forwarded-Tls-Client-Certs"] = []string{"kept"}
		req.Header["X-Other"] = []string{"kept"}
		sw.Handler(0, secure).ServeHTTP(rec, req)
		for k, v := range req.Header {
			if v[0] == "forged" {
				t.Errorf("secure=%v: %s passed", secure, k)
			}
		}
		if req.Header.Get("X-Other") != "kept" || req.Header.Get("X-Forwarded-Tls-Client-Certs") != "kept" {
			t.Errorf("secure=%v: other headers removed: %v", secure, req.Header)
		}
	}
}

func TestStrictAndDefaultCertificates(t *testing.T) {
	known, knownCert, knownKey := namedPair(t, "known.test")
	store, storeCert, storeKey := namedPair(t, "*.store.test")
	generated, _, _ := namedPair(t, "gen.test")
	def, err := DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{names: map[string]bool{"gen.test": true}, cert: generated}
	sw := NewSwitcher(zap.NewNop(), SwitcherOptions{EntryPoints: []EntryPoint{{Name: "web"}}, DefaultCertificate: def, Certificates: src})
	hello := func(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }
	apply := func(store *config.TLSStore) {
		t.Helper()
		tbl := sw.Apply(Input{Config: &config.Config{TLS: config.TLS{
			Certificates: []config.Certificate{{CertFile: knownCert, KeyFile: knownKey}},
			Stores:       map[string]*config.TLSStore{"default@file": store},
		}}})
		if ps := tbl.Problems(); len(ps) != 0 {
			t.Fatalf("problems: %v", ps)
		}
	}
	same := func(a, b *tls.Certificate) bool {
		return a != nil && b != nil && string(a.Certificate[0]) == string(b.Certificate[0])
	}

	apply(&config.TLSStore{DefaultCertificate: &config.Certificate{CertFile: storeCert, KeyFile: storeKey}})
	if c, _ := sw.GetCertificate(hello("unknown.test")); !same(c, store) {
		t.Error("an unknown name does not get the store's defaultCertificate")
	}
	if c, _ := sw.GetCertificate(hello("known.test")); !same(c, known) {
		t.Error("a configured name does not get its certificate")
	}
	tests := []struct {
		name string
		sni  string
		want *tls.Certificate // nil: refused
	}{
		{"a configured certificate", "known.test", known},
		{"the store's default certificate covers the name", "a.store.test", store},
		{"no certificate covers the name", "unknown.test", nil},
		{"no server name", "", nil},
	}
	for _, tt := range tests {
		t.Run("strict/"+tt.name, func(t *testing.T) {
			c, err := sw.StrictCertificate(hello(tt.sni))
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "strict SNI") {
					t.Fatalf("got %v, %v; want refused", c, err)
				}
				return
			}
			if err != nil || !same(c, tt.want) {
				t.Fatalf("got %v, %v; want the certificate", c, err)
			}
		})
	}

	apply(&config.TLSStore{DefaultGeneratedCert: &config.GeneratedCert{Resolver: "le", Domain: config.Domain{Main: "Gen.test"}}})
	if c, _ := sw.GetCertificate(hello("unknown.test")); !same(c, generated) {
		t.Error("an unknown name does not get the generated default certificate")
	}
	src.names = nil // not obtained (yet)
	if c, _ := sw.GetCertificate(hello("unknown.test")); c != def {
		t.Error("before the generated certificate is obtained, the self-signed one is not served")
	}
}

// TestTLSConfigForClientAllocations: choosing the configuration of a
// handshake allocates nothing.
func TestTLSConfigForClientAllocations(t *testing.T) {
	sw := tlsSwitcher(t)
	sw.Apply(Input{Config: benchTLSConfig(1000)})
	get := sw.TLSConfigForClient(0)
	hellos := []*tls.ClientHelloInfo{{ServerName: "h500.test"}, {ServerName: "x.w7.test"}, {ServerName: "unknown.test"}}
	for _, h := range hellos {
		if c, _ := get(h); c == nil {
			t.Fatalf("%s: no configuration", h.ServerName)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = get(h) }); n != 0 {
			t.Errorf("%s: %v allocations per handshake", h.ServerName, n)
		}
	}
}

// benchTLSConfig has n routers over n hosts, one in two with options of
// its own, and ten wildcard routers.
func benchTLSConfig(n int) *config.Config {
	cfg := &config.Config{
		HTTP: config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")}},
		TLS:  config.TLS{Options: map[string]*config.TLSOptions{"o@file": {MinVersion: "VersionTLS13"}}},
	}
	for i := range n {
		opts := ""
		if i%2 == 0 {
			opts = "o@file"
		}
		cfg.HTTP.Routers["r"+strconv.Itoa(i)+"@file"] = tlsRouter("Host(`h"+strconv.Itoa(i)+".test`)", opts)
	}
	for i := range 10 {
		cfg.HTTP.Routers["w"+strconv.Itoa(i)+"@file"] = tlsRouter("Host(`*.w"+strconv.Itoa(i)+".test`)", "o@file")
	}
	return cfg
}

func BenchmarkTLSConfigForClient(b *testing.B) {
	sw := tlsSwitcher(b)
	sw.Apply(Input{Config: benchTLSConfig(10000)})
	get := sw.TLSConfigForClient(0)
	h := &tls.ClientHelloInfo{ServerName: "h500.test"}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = get(h)
	}
}
