package acme

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	eps := map[string]string{"web": ":80", "websecure": ":443"}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"http challenge", Config{HTTPChallenge: &HTTPChallenge{EntryPoint: "web"}}, nil},
		{"tls challenge, RSA", Config{TLSChallenge: &TLSChallenge{}, KeyType: "RSA2048"}, nil},
		{"no challenge", Config{}, []string{"certificatesResolvers.le.acme: set httpChallenge, tlsChallenge or dnsChallenge"}},
		{"unknown entry point", Config{HTTPChallenge: &HTTPChallenge{EntryPoint: "nope"}},
			[]string{`certificatesResolvers.le.acme.httpChallenge.entryPoint: entry point "nope" does not exist`}},
		{"missing entry point", Config{HTTPChallenge: &HTTPChallenge{}},
			[]string{"certificatesResolvers.le.acme.httpChallenge.entryPoint: missing"}},
		{"bad key type", Config{TLSChallenge: &TLSChallenge{}, KeyType: "DSA"},
			[]string{`certificatesResolvers.le.acme.keyType: "DSA" is not EC256, EC384, RSA2048, RSA4096 or RSA8192`}},
		{"half an EAB", Config{TLSChallenge: &TLSChallenge{}, EAB: &EAB{KID: "k"}},
			[]string{"certificatesResolvers.le.acme.eab: set kid and hmacEncoded"}},
		{"CA file not PEM", Config{TLSChallenge: &TLSChallenge{}, CACertificates: []string{notPEM}},
			[]string{"certificatesResolvers.le.acme.caCertificates[0]: " + notPEM + ": no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Check("le", eps)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("Check() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestConfigResolve(t *testing.T) {
	c := Config{CACertificates: []string{"ca.pem", "/abs/ca.pem"}}
	c.Resolve("/etc/ferry")
	if c.Storage != "/etc/ferry/acme" || c.CACertificates[0] != "/etc/ferry/ca.pem" || c.CACertificates[1] != "/abs/ca.pem" {
		t.Fatalf("Resolve: %+v", c)
	}
	c = Config{Storage: "/var/lib/ferry"}
	c.Resolve("/etc/ferry")
	if c.Storage != "/var/lib/ferry" {
		t.Fatalf("absolute storage changed: %q", c.Storage)
	}
}

func TestTLSChallengeAddress(t *testing.T) {
	tests := []struct {
		eps  map[string]string
		want string
	}{
		{map[string]string{"web": ":80", "websecure": ":443"}, ":443"},
		{map[string]string{"b": "127.0.0.1:8443", "a": "127.0.0.1:8080"}, "127.0.0.1:8080"},
		{map[string]string{}, ""},
	}
	for _, tt := range tests {
		if got := tlsChallengeAddress(tt.eps); got != tt.want {
			t.Errorf("tlsChallengeAddress(%v) = %q, want %q", tt.eps, got, tt.want)
		}
	}
}
