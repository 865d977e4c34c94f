package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStaticServersTransports(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "client.pem", "client.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, problems := Parse([]byte(`entryPoints:
  web: {address: ":80"}
serversTransport:
  insecureSkipVerify: false
  rootCAs: [ca.pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"]
  maxIdleConnsPerHost: 100
  forwardingTimeouts:
    dialTimeout: 5s
    responseHeaderTimeout: 30s
    idleConnTimeout: 60s
tcpServersTransport:
  dialTimeout: 2s
  dialKeepAlive: 10s
  tls:
    rootCAs: [ca.pem]
    certificates: [{certFile: client.pem, keyFile: client.key}]
`), "ferry.yaml", dir)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	h := s.ServersTransport
	if h.RootCAs[0] != filepath.Join(dir, "ca.pem") || !strings.HasPrefix(h.RootCAs[1], "-----BEGIN") || h.MaxIdleConnsPerHost != 100 ||
		time.Duration(h.ForwardingTimeouts.ResponseHeaderTimeout) != 30*time.Second {
		t.Errorf("serversTransport: %+v", h)
	}
	tt := s.TCPServersTransport
	if time.Duration(tt.DialTimeout) != 2*time.Second || tt.TLS.Certificates[0].KeyFile != filepath.Join(dir, "client.key") {
		t.Errorf("tcpServersTransport: %+v", tt)
	}

	_, problems = Parse([]byte(`entryPoints:
  web: {address: ":80"}
serversTransport:
  rootCAs: [missing.pem]
  spiffe: {ids: ["spiffe://example.org/b"]}
  forwardingTimeouts: {dialTimeout: -1s}
  serverNmae: typo
tcpServersTransport:
  tls:
    certificates: [{certFile: client.pem}]
`), "ferry.yaml", dir)
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		"serverNmae",
		"ferry.yaml: serversTransport.rootCAs[0]: stat " + filepath.Join(dir, "missing.pem") + ": no such file or directory",
		"ferry.yaml: serversTransport.spiffe: not supported",
		"ferry.yaml: serversTransport.forwardingTimeouts.dialTimeout: negative duration -1s",
		"ferry.yaml: tcpServersTransport.tls.certificates[0].keyFile: missing",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
