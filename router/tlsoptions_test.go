package router

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// namedPair makes a certificate for names, signed by itself, as PEM text.
func namedPair(t testing.TB, names ...string) (*tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	c, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return &c, certPEM, keyPEM
}

// tlsSwitcher is a switcher over entry points web (TLS routers by tls:)
// and websecure (TLS: every router).
func tlsSwitcher(t testing.TB, eps ...EntryPoint) *Switcher {
	t.Helper()
	def, err := DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) == 0 {
		eps = []EntryPoint{{Name: "web"}, {Name: "websecure", TLS: true}}
	}
	return NewSwitcher(zap.NewNop(), SwitcherOptions{EntryPoints: eps, Transports: NewTransports(), DefaultCertificate: def})
}

// configFor returns what entry point ep's handshake for sni gets: nil for
// the entry point's own configuration.
func configFor(t testing.TB, sw *Switcher, ep int, sni string, protos ...string) *tls.Config {
	t.Helper()
	c, err := sw.TLSConfigForClient(ep)(&tls.ClientHelloInfo{ServerName: sni, SupportedProtos: protos})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tlsRouter(rule, options string) *config.Router {
	return &config.Router{Rule: rule, Service: "s", TLS: &config.RouterTLS{Options: options}}
}

func problemsOf(tbl *Table, kind config.Kind, name string) []string {
	var out []string
	for _, p := range tbl.Problems() {
		if p.Kind == kind && p.Name == name {
			out = append(out, p.Field+": "+p.Message)
		}
	}
	return out
}

func routerInfo(t testing.TB, tbl *Table, name string) RouterInfo {
	t.Helper()
	for _, r := range tbl.Routers() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no router %s", name)
	return RouterInfo{}
}

func TestTLSOptionsChosenPerServerName(t *testing.T) {
	_, caPEM, _ := namedPair(t, "Test client CA")
	cfg := &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"modern@file":  tlsRouter("Host(`a.test`)", "modern@file"),
				"plain@file":   tlsRouter("Host(`b.test`)", ""),
				"mixed1@file":  tlsRouter("Host(`c.test`) && Path(`/x`)", "modern@file"),
				"mixed2@file":  tlsRouter("Host(`c.test`)", ""),
				"same1@file":   tlsRouter("Host(`d.test`) && Path(`/x`)", "modern@file"),
				"same2@file":   tlsRouter("Host(`d.test`)", "modern@file"),
				"wild@file":    tlsRouter("Host(`*.wild.test`)", "mtls@file"),
				"nohost@file":  tlsRouter("PathPrefix(`/nohost`)", "modern@file"),
				"notls@file":   {Rule: "Host(`e.test`)", Service: "s"},
				"onlyweb@file": {Rule: "Host(`f.test`)", Service: "s", EntryPoints: []string{"websecure"}},
			},
			Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{
			"modern@file": {MinVersion: "VersionTLS13", ALPNProtocols: []string{"http/1.1"}},
			"mtls@file":   {ClientAuth: config.ClientAuth{CAFiles: []string{caPEM}}},
		}},
	}
	sw := tlsSwitcher(t)
	tbl := sw.Apply(Input{Config: cfg})
	if ps := tbl.Problems(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	modern, mtls := tbl.tls.options["modern@file"].http, tbl.tls.options["mtls@file"].http
	builtin := tbl.tls.builtin.http
	for _, c := range []*tls.Config{modern, mtls, builtin, tbl.tls.options["modern@file"].tcp} {
		if c.GetCertificate == nil {
			t.Fatal("a TLS options configuration has no certificate picker")
		}
	}
	tests := []struct {
		name string
		ep   int
		sni  string
		want *tls.Config
	}{
		{"the router's options", 0, "a.test", modern},
		{"server names are case-insensitive", 0, "A.Test.", modern},
		{"a router without options has the default", 0, "b.test", builtin},
		{"different options for one host: the default", 0, "c.test", builtin},
		{"the same options for one host", 0, "d.test", modern},
		{"a wildcard host", 0, "x.wild.test", mtls},
		{"a wildcard is one label deep", 0, "y.x.wild.test", builtin},
		{"unknown name: the default", 0, "unknown.test", builtin},
		{"no server name: the default", 0, "", builtin},
		{"the other entry point", 1, "a.test", modern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configFor(t, sw, tt.ep, tt.sni); got != tt.want {
				t.Fatalf("%q got %p (min %x), want %p (min %x)", tt.sni, got, minVersion(got), tt.want, minVersion(tt.want))
			}
		})
	}
	if c := configFor(t, sw, 0, "a.test", "acme-tls/1"); c != nil {
		t.Fatal("an ACME TLS-ALPN-01 validation gets the options of the name; want the entry point's own configuration")
	}
	if modern.MinVersion != tls.VersionTLS13 || strings.Join(modern.NextProtos, ",") != "http/1.1,acme-tls/1" {
		t.Fatalf("modern: min %x, ALPN %v", modern.MinVersion, modern.NextProtos)
	}
	if mtls.ClientAuth != tls.RequireAndVerifyClientCert || mtls.ClientCAs == nil {
		t.Fatalf("mtls: client auth %v, CAs %v", mtls.ClientAuth, mtls.ClientCAs)
	}
	for _, name := range []string{"mixed1@file", "mixed2@file"} {
		r := routerInfo(t, tbl, name)
		if r.Status != StatusEnabled || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "host c.test") ||
			!strings.Contains(r.Warnings[0], "default, modern@file") {
			t.Errorf("%s: status %s, warnings %q; want enabled with a warning about c.test", name, r.Status, r.Warnings)
		}
	}
	if r := routerInfo(t, tbl, "nohost@file"); r.Status != StatusEnabled || len(r.Warnings) != 1 ||
		!strings.Contains(r.Warnings[0], "names no host") {
		t.Errorf("nohost: status %s, warnings %q", r.Status, r.Warnings)
	}
	for _, name := range []string{"modern@file", "same1@file", "plain@file", "wild@file"} {
		if r := routerInfo(t, tbl, name); len(r.Warnings) != 0 {
			t.Errorf("%s: unexpected warnings %q", name, r.Warnings)
		}
	}
}

func minVersion(c *tls.Config) uint16 {
	if c == nil {
		return 0
	}
	return c.MinVersion
}

func TestTLSOptionsNoneConfigured(t *testing.T) {
	sw := tlsSwitcher(t)
	sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{
		Routers:  map[string]*config.Router{"r": tlsRouter("Host(`a.test`)", "")},
		Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")},
	}}})
	if c := configFor(t, sw, 0, "a.test"); c != nil {
		t.Fatal("without TLS options every handshake should get the entry point's own configuration")
	}
	if _, status := serveTLS(t, sw, 0, "a.test", "b.test"); status == 421 {
		t.Fatal("without TLS options, a host other than the server name is not misdirected")
	}
}

func TestTLSOptionsDisableOnlyTheirRouters(t *testing.T) {
	cfg := &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"missing@file": tlsRouter("Host(`a.test`)", "nope@file"),
				"badca@file":   tlsRouter("Host(`b.test`)", "badca@file"),
				"badver@file":  tlsRouter("Host(`c.test`)", "badver@file"),
				"fine@file":    tlsRouter("Host(`d.test`)", "fine@file"),
				"default@file": tlsRouter("Host(`e.test`)", ""),
			},
			Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")},
		},
		TCP: config.TCP{
			Routers: map[string]*config.TCPRouter{
				"tcpmissing@file": {Rule: "HostSNI(`t.test`)", Service: "ts", TLS: &config.TCPRouterTLS{Options: "nope@file"}},
			},
			Services: map[string]*config.TCPService{"ts": tcpLB("127.0.0.1:1")},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{
			"badca@file":  {ClientAuth: config.ClientAuth{CAFiles: []string{"/nonexistent/ca.pem"}}},
			"badver@file": {MinVersion: "VersionTLS14", CipherSuites: []string{"TLS_NOPE"}},
			"fine@file":   {MinVersion: "VersionTLS13"},
		}},
	}
	tbl := tlsSwitcher(t).Apply(Input{Config: cfg})
	want := map[string][]string{
		"missing@file": {`tls.options: TLS options "nope@file" do not exist`},
		"badca@file":   {`tls.options: TLS options "badca@file" are disabled: clientAuth.caFiles[0]: open /nonexistent/ca.pem`},
		"badver@file":  {`tls.options: TLS options "badver@file" are disabled: cipherSuites[0]: unknown cipher suite "TLS_NOPE"`},
	}
	for name, w := range want {
		if got := problemsOf(tbl, config.KindRouter, name); len(got) != len(w) || !strings.HasPrefix(got[0], w[0]) {
			t.Errorf("router %s: problems %q, want %q", name, got, w)
		}
		if r := routerInfo(t, tbl, name); r.Status != StatusDisabled {
			t.Errorf("router %s is %s, want disabled", name, r.Status)
		}
	}
	for _, name := range []string{"fine@file", "default@file"} {
		if r := routerInfo(t, tbl, name); r.Status != StatusEnabled {
			t.Errorf("router %s is %s (%v), want enabled", name, r.Status, r.Error)
		}
	}
	if got := problemsOf(tbl, config.KindTLSOptions, "badca@file"); len(got) != 1 || !strings.Contains(got[0], "clientAuth.caFiles[0]") {
		t.Errorf("badca problems %q: want one naming clientAuth.caFiles[0]", got)
	}
	got := strings.Join(problemsOf(tbl, config.KindTLSOptions, "badver@file"), "|")
	if !strings.Contains(got, "cipherSuites[0]: unknown cipher suite") || !strings.Contains(got, `minVersion: unknown TLS version "VersionTLS14"`) {
		t.Errorf("badver problems %q", got)
	}
	if got := problemsOf(tbl, config.KindTCPRouter, "tcpmissing@file"); len(got) != 1 || !strings.Contains(got[0], `"nope@file" do not exist`) {
		t.Errorf("TCP router problems %q", got)
	}
}

func TestTLSDefaultOptions(t *testing.T) {
	routers := map[string]*config.Router{
		"plain@file": tlsRouter("Host(`a.test`)", ""),
		"named@file": tlsRouter("Host(`b.test`)", "named@file"),
		"web@docker": {Rule: "Host(`c.test`)", Service: "s"}, // not TLS on web, TLS on websecure
	}
	services := map[string]*config.Service{"s": lbService("http://127.0.0.1:1")}
	t.Run("one provider's default applies to all", func(t *testing.T) {
		sw := tlsSwitcher(t)
		tbl := sw.Apply(Input{Config: &config.Config{HTTP: config.HTTP{Routers: routers, Services: services},
			TLS: config.TLS{Options: map[string]*config.TLSOptions{
				"default@file": {MinVersion: "VersionTLS13"}, "named@file": {MaxVersion: "VersionTLS12"}}}}})
		def := tbl.tls.options["default@file"].http
		for _, sni := range []string{"a.test", "unknown.test", ""} {
			if got := configFor(t, sw, 0, sni); got != def {
				t.Errorf("%q: not the default options", sni)
			}
		}
		if got := configFor(t, sw, 0, "b.test"); got != tbl.tls.options["named@file"].http {
			t.Error("b.test: not its router's options")
		}
	})
	t.Run("several providers' defaults: none, and routers relying on it are disabled", func(t *testing.T) {
		tbl := tlsSwitcher(t).Apply(Input{Config: &config.Config{HTTP: config.HTTP{Routers: routers, Services: services},
			TLS: config.TLS{Options: map[string]*config.TLSOptions{
				"default@file": {MinVersion: "VersionTLS13"}, "default@docker": {}, "named@file": {}}}}})
		for _, name := range []string{"default@file", "default@docker"} {
			if got := problemsOf(tbl, config.KindTLSOptions, name); len(got) != 1 || !strings.Contains(got[0], "several providers (default@docker, default@file)") {
				t.Errorf("%s: problems %q", name, got)
			}
		}
		for name, want := range map[string]string{"plain@file": StatusDisabled, "web@docker": StatusDisabled, "named@file": StatusEnabled} {
			if r := routerInfo(t, tbl, name); r.Status != want {
				t.Errorf("router %s is %s (%v), want %s", name, r.Status, r.Error, want)
			}
		}
	})
}

func TestTLSEntryPointOptions(t *testing.T) {
	sw := tlsSwitcher(t, EntryPoint{Name: "web"}, EntryPoint{Name: "websecure", TLS: true, TLSOptions: "strict"})
	tbl := sw.Apply(Input{Config: &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"inherit@file": {Rule: "Host(`a.test`)", Service: "s"},
				"own@file":     tlsRouter("Host(`b.test`)", "default"),
				"other@docker": {Rule: "Host(`c.test`)", Service: "s", EntryPoints: []string{"websecure"}},
			},
			Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{"strict@file": {MinVersion: "VersionTLS13"}}},
	}})
	if got := configFor(t, sw, 1, "a.test"); got != tbl.tls.options["strict@file"].http {
		t.Error("a router without tls.options does not get its entry point's")
	}
	if got := configFor(t, sw, 1, "b.test"); got != tbl.tls.builtin.http {
		t.Error("a router's own tls.options (default) do not win over its entry point's")
	}
	if got := problemsOf(tbl, config.KindRouter, "other@docker"); len(got) != 1 ||
		!strings.Contains(got[0], `"strict@docker" do not exist (from entry point websecure)`) {
		t.Errorf("the entry point's options are qualified by the router's provider: problems %q", got)
	}
}

func TestTLSOptionsOfTCPRouters(t *testing.T) {
	sw := tlsSwitcher(t)
	tbl := sw.Apply(Input{Config: &config.Config{
		TCP: config.TCP{
			Routers: map[string]*config.TCPRouter{
				"term@file": {Rule: "HostSNI(`db.test`)", Service: "ts", TLS: &config.TCPRouterTLS{Options: "modern@file"}},
				"dflt@file": {Rule: "HostSNI(`kv.test`)", Service: "ts", TLS: &config.TCPRouterTLS{}},
				"pass@file": {Rule: "HostSNI(`p.test`)", Service: "ts", TLS: &config.TCPRouterTLS{Passthrough: true, Options: "modern@file"}},
			},
			Services: map[string]*config.TCPService{"ts": tcpLB("127.0.0.1:1")},
		},
		TLS: config.TLS{Options: map[string]*config.TLSOptions{"modern@file": {MinVersion: "VersionTLS13"}}},
	}})
	if ps := tbl.Problems(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	routes := tbl.tcpRoutes(0)
	for sni, want := range map[string]*tls.Config{"db.test": tbl.tls.options["modern@file"].tcp, "kv.test": tbl.tls.builtin.tcp, "p.test": nil} {
		r := routes.MatchTLS(tcpRequest(sni))
		if r == nil || r.TLSConfig != want {
			t.Errorf("%s: route %v, wrong TLS configuration", sni, r)
		}
	}
	if c := tbl.tls.options["modern@file"].tcp; len(c.NextProtos) != 0 || c.MinVersion != tls.VersionTLS13 {
		t.Errorf("TCP termination: ALPN %v (want none unless configured), min %x", c.NextProtos, c.MinVersion)
	}
}

func TestTLSOptionsKeptAcrossBuilds(t *testing.T) {
	sw := tlsSwitcher(t)
	cfg := func(min string) *config.Config {
		return &config.Config{
			HTTP: config.HTTP{Routers: map[string]*config.Router{"r@file": tlsRouter("Host(`a.test`)", "o@file")},
				Services: map[string]*config.Service{"s": lbService("http://127.0.0.1:1")}},
			TLS: config.TLS{Options: map[string]*config.TLSOptions{"o@file": {MinVersion: min}}},
		}
	}
	first := sw.Apply(Input{Config: cfg("VersionTLS13")}).tls.options["o@file"].http
	if again := sw.Apply(Input{Config: cfg("VersionTLS13")}).tls.options["o@file"].http; again != first {
		t.Error("unchanged options were rebuilt (their session ticket keys are lost)")
	}
	if changed := sw.Apply(Input{Config: cfg("VersionTLS12")}).tls.options["o@file"].http; changed == first || changed.MinVersion != tls.VersionTLS12 {
		t.Error("changed options were not rebuilt")
	}
}
