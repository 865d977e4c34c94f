package config

import (
	"strings"
	"testing"
)

func TestValidateTLSOptions(t *testing.T) {
	tests := []struct {
		name string
		opts TLSOptions
		want []string // field: message fragment; none for a valid set
	}{
		{"empty is the defaults", TLSOptions{}, nil},
		{"every value Traefik documents", TLSOptions{MinVersion: "VersionTLS10", MaxVersion: "VersionTLS13",
			CipherSuites: []string{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
				"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_AES_128_GCM_SHA256", "TLS_FALLBACK_SCSV"},
			CurvePreferences: []string{"CurveP521", "CurveP384", "CurveP256", "X25519", "secp256r1", "X25519MLKEM768"},
			SNIStrict:        true, ALPNProtocols: []string{"h2", "http/1.1"},
			ClientAuth: ClientAuth{CAFiles: []string{"/ca.pem"}, ClientAuthType: "VerifyClientCertIfGiven"}}, nil},
		{"unknown versions", TLSOptions{MinVersion: "TLS1.3", MaxVersion: "VersionTLS9"},
			[]string{`maxVersion: unknown TLS version "VersionTLS9"`, `minVersion: unknown TLS version "TLS1.3"`}},
		{"max below min", TLSOptions{MinVersion: "VersionTLS13", MaxVersion: "VersionTLS12"},
			[]string{"maxVersion: VersionTLS12 is below minVersion VersionTLS13"}},
		{"unknown cipher suite", TLSOptions{CipherSuites: []string{"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20"}},
			[]string{`cipherSuites[1]: unknown cipher suite "TLS_CHACHA20"`}},
		{"empty cipher list", TLSOptions{CipherSuites: []string{}}, []string{"cipherSuites: empty list"}},
		{"unknown curve", TLSOptions{CurvePreferences: []string{"X448"}}, []string{`curvePreferences[0]: unknown curve "X448"`}},
		{"empty ALPN protocol", TLSOptions{ALPNProtocols: []string{"h2", ""}}, []string{"alpnProtocols[1]: a protocol name has 1 to 255 bytes"}},
		{"unknown client auth", TLSOptions{ClientAuth: ClientAuth{ClientAuthType: "Required"}},
			[]string{`clientAuth.clientAuthType: unknown client authentication "Required"`}},
		{"verifying without CAs", TLSOptions{ClientAuth: ClientAuth{ClientAuthType: "RequireAndVerifyClientCert"}},
			[]string{"clientAuth.clientAuthType: RequireAndVerifyClientCert verifies client certificates: it needs clientAuth.caFiles"}},
		{"requiring any certificate needs no CA", TLSOptions{ClientAuth: ClientAuth{ClientAuthType: "RequireAnyClientCert"}}, nil},
		{"empty CA file", TLSOptions{ClientAuth: ClientAuth{CAFiles: []string{" "}}}, []string{"clientAuth.caFiles[0]: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			ps := Validate(&Config{TLS: TLS{Options: map[string]*TLSOptions{"o@file": &o}}})
			var got []string
			for _, p := range ps {
				if p.Kind != KindTLSOptions || p.Name != "o@file" {
					t.Fatalf("problem about another object: %v", p)
				}
				got = append(got, p.Field+": "+p.Message)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %q, want %q…", got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidateTLSStoresAndDefaults(t *testing.T) {
	c := &Config{TLS: TLS{
		Options: map[string]*TLSOptions{"default@file": {}, "default@docker": {}, "other@file": {}},
		Stores: map[string]*TLSStore{
			"default@file": {DefaultCertificate: &Certificate{CertFile: "/c.pem"}, DefaultGeneratedCert: &GeneratedCert{Domain: Domain{Main: " "}}},
			"other@file":   {},
		},
	}}
	var got []string
	for _, p := range Validate(c) {
		got = append(got, string(p.Kind)+" "+p.Name+" "+p.Field+": "+p.Message)
	}
	want := []string{
		"tlsOptions default@docker : default TLS options are defined by several providers (default@docker, default@file)",
		"tlsOptions default@file : default TLS options are defined by several providers (default@docker, default@file)",
		"tlsStore default@file defaultCertificate.keyFile: missing",
		"tlsStore default@file defaultGeneratedCert.domain.main: missing",
		"tlsStore default@file defaultGeneratedCert.resolver: missing",
		"tlsStore other@file : only the store named default is used",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %q, want %q…", got[i], want[i])
		}
	}
	if _, _, ok := c.TLS.DefaultTLSStore(); !ok {
		t.Error("DefaultTLSStore: one default store not found")
	}
}

func TestQualifiedTLS(t *testing.T) {
	in := &Config{
		HTTP: HTTP{Routers: map[string]*Router{
			"a": {Rule: "Host(`a`)", TLS: &RouterTLS{Options: "modern"}},
			"b": {Rule: "Host(`b`)", TLS: &RouterTLS{Options: "default"}},
			"c": {Rule: "Host(`c`)", TLS: &RouterTLS{Options: "shared@kv"}},
			"d": {Rule: "Host(`d`)", TLS: &RouterTLS{}},
		}},
		TCP: TCP{Routers: map[string]*TCPRouter{"t": {Rule: "HostSNI(`t`)", TLS: &TCPRouterTLS{Options: "modern"}}}},
		TLS: TLS{Options: map[string]*TLSOptions{"modern": {}, "default": {}}, Stores: map[string]*TLSStore{"default": {}}},
	}
	out := in.Qualified("file")
	for name, want := range map[string]string{"a@file": "modern@file", "b@file": "default", "c@file": "shared@kv", "d@file": ""} {
		if got := out.HTTP.Routers[name].TLS.Options; got != want {
			t.Errorf("router %s: tls.options %q, want %q", name, got, want)
		}
	}
	if got := out.TCP.Routers["t@file"].TLS.Options; got != "modern@file" {
		t.Errorf("TCP router: tls.options %q", got)
	}
	if out.TLS.Options["modern@file"] == nil || out.TLS.Options["default@file"] == nil || out.TLS.Stores["default@file"] == nil {
		t.Errorf("options and stores are not qualified: %v %v", out.TLS.Options, out.TLS.Stores)
	}
	if in.HTTP.Routers["a"].TLS.Options != "modern" || in.TLS.Options["modern"] == nil {
		t.Error("Qualified modified its input")
	}
	merged := &Config{}
	Merge(merged, out)
	Merge(merged, (&Config{TLS: TLS{Options: map[string]*TLSOptions{"default": {}}}}).Qualified("docker"))
	if len(merged.TLS.Options) != 3 || len(merged.TLS.Stores) != 1 {
		t.Errorf("merged options %v, stores %v", merged.TLS.Options, merged.TLS.Stores)
	}
}

func TestPassTLSClientCertIsOneType(t *testing.T) {
	m := &Middleware{PassTLSClientCert: &PassTLSClientCert{PEM: true}}
	if n := m.typeCount(); n != 1 {
		t.Fatalf("typeCount = %d", n)
	}
	if ps := Validate(&Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"m": m}}}); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
}
