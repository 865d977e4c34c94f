package configs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/tracing"
)

const tracingBase = "entryPoints:\n  web:\n    address: ':80'\n"

func TestParseTracing(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings of the problems; none means valid
		notIn   []string // must not appear in any problem
	}{
		{"absent", "", nil, nil},
		{"empty turns it on", "tracing: {}\n", nil, nil},
		{"full http", `tracing:
  serviceName: edge
  sampleRate: 0.25
  resourceAttributes: {deployment.environment.name: prod}
  capturedRequestHeaders: [X-Request-Id]
  capturedResponseHeaders: [Content-Type]
  otlp:
    http:
      endpoint: https://collector:4318/v1/traces
      headers: {Authorization: Bearer abc}
      tls: {ca: ca.pem}
`, nil, nil},
		{"full grpc", "tracing:\n  otlp:\n    grpc:\n      endpoint: collector:4317\n      insecure: true\n      headers: {x-api-key: k}\n", nil, nil},
		{"sampleRate above 1", "tracing:\n  sampleRate: 1.5\n", []string{"ferry.yaml: tracing.sampleRate: 1.5 is not between 0 and 1"}, nil},
		{"sampleRate negative", "tracing:\n  sampleRate: -1\n", []string{"tracing.sampleRate: -1 is not between 0 and 1"}, nil},
		{"sampleRate not a number", "tracing:\n  sampleRate: often\n", []string{"tracing.sampleRate"}, nil},
		{"unknown key", "tracing:\n  otlp:\n    http:\n      endpoints: x\n", []string{"tracing.otlp.http.endpoints"}, nil},
		{"http endpoint not a URL", "tracing:\n  otlp:\n    http:\n      endpoint: collector:4318\n",
			[]string{`tracing.otlp.http.endpoint: "collector:4318" is not an http:// or https:// URL`}, nil},
		{"http endpoint password redacted", "tracing:\n  otlp:\n    http:\n      endpoint: ftp://u:hunter2@collector/v1\n",
			[]string{"tracing.otlp.http.endpoint"}, []string{"hunter2"}},
		{"tls with http://", "tracing:\n  otlp:\n    http:\n      endpoint: http://collector:4318/v1/traces\n      tls: {ca: ca.pem}\n",
			[]string{"tracing.otlp.http.tls: set, but the endpoint is http://"}, nil},
		{"grpc endpoint not host:port", "tracing:\n  otlp:\n    grpc:\n      endpoint: http://collector:4317\n",
			[]string{`tracing.otlp.grpc.endpoint: "http://collector:4317" is not host:port`}, nil},
		{"grpc port", "tracing:\n  otlp:\n    grpc:\n      endpoint: collector:99999\n",
			[]string{`tracing.otlp.grpc.endpoint: "collector:99999": port "99999" is not a number from 1 to 65535`}, nil},
		{"grpc insecure and tls", "tracing:\n  otlp:\n    grpc:\n      insecure: true\n      tls: {insecureSkipVerify: true}\n",
			[]string{"tracing.otlp.grpc: set insecure or tls, not both"}, nil},
		{"both transports", "tracing:\n  otlp:\n    http: {}\n    grpc: {}\n", []string{"tracing.otlp: set http or grpc, not both"}, nil},
		{"bad captured header", "tracing:\n  capturedRequestHeaders: [ok, 'bad header']\n",
			[]string{`tracing.capturedRequestHeaders[1]: "bad header" is not a header name`}, nil},
		{"bad exporter header value not shown", "tracing:\n  otlp:\n    http:\n      headers:\n        X-Key: \"s3cret\\r\\nX-Evil: 1\"\n",
			[]string{"tracing.otlp.http.headers.X-Key: the value has a control character (not shown)"}, []string{"s3cret"}},
		{"bad exporter header name", "tracing:\n  otlp:\n    grpc:\n      headers: {'a b': v}\n",
			[]string{`tracing.otlp.grpc.headers: "a b" is not a header name`}, nil},
		{"cert without key", "tracing:\n  otlp:\n    http:\n      tls: {cert: c.pem}\n", []string{"tracing.otlp.http.tls: set cert and key together"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Parse([]byte(tracingBase+tt.yaml), "ferry.yaml", "/etc/ferry")
			all := strings.Join(problems, "\n")
			if len(tt.wantErr) == 0 && len(problems) > 0 {
				t.Fatalf("unexpected problems:\n%s", all)
			}
			if len(tt.wantErr) > 0 && len(problems) == 0 {
				t.Fatalf("no problem reported, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
			for _, w := range tt.notIn {
				if strings.Contains(all, w) {
					t.Errorf("problems show %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestTracingOptions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want tracing.Options
	}{
		{"off", "", tracing.Options{}},
		{"defaults", "tracing: {}\n", tracing.Options{SampleRate: 1,
			HTTP: &tracing.OTLPHTTP{Endpoint: DefaultTracingHTTPEndpoint}}},
		{"grpc defaults", "tracing:\n  otlp:\n    grpc: {}\n", tracing.Options{SampleRate: 1,
			GRPC: &tracing.OTLPGRPC{Endpoint: DefaultTracingGRPCEndpoint}}},
		{"sampleRate 0 stays 0", "tracing:\n  sampleRate: 0\n  otlp:\n    http:\n      endpoint: http://127.0.0.1:4318/v1/traces\n",
			tracing.Options{SampleRate: 0, HTTP: &tracing.OTLPHTTP{Endpoint: "http://127.0.0.1:4318/v1/traces"}}},
		{"everything", `tracing:
  serviceName: edge
  sampleRate: 0.5
  resourceAttributes: {team: web}
  capturedRequestHeaders: [X-Request-Id]
  capturedResponseHeaders: [Content-Type]
  otlp:
    grpc:
      endpoint: collector:4317
      insecure: true
      headers: {x-api-key: k}
`, tracing.Options{ServiceName: "edge", SampleRate: 0.5, ResourceAttributes: map[string]string{"team": "web"},
			CapturedRequestHeaders: []string{"X-Request-Id"}, CapturedResponseHeaders: []string{"Content-Type"},
			GRPC: &tracing.OTLPGRPC{Endpoint: "collector:4317", Insecure: true, Headers: map[string]string{"x-api-key": "k"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := Parse([]byte(tracingBase+tt.yaml), "ferry.yaml", "/etc/ferry")
			if len(problems) > 0 {
				t.Fatalf("problems: %v", problems)
			}
			got, err := s.Tracing.Options()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Options() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestTracingOptionsTLS(t *testing.T) {
	dir := t.TempDir()
	writeTestCA(t, filepath.Join(dir, "ca.pem"))
	s, problems := Parse([]byte(tracingBase+"tracing:\n  otlp:\n    http:\n      tls: {ca: ca.pem}\n"), "ferry.yaml", dir)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if got := s.Tracing.OTLP.HTTP.TLS.CA; got != filepath.Join(dir, "ca.pem") {
		t.Errorf("ca resolved to %q, want it next to the configuration", got)
	}
	opts, err := s.Tracing.Options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HTTP.TLS == nil || opts.HTTP.TLS.RootCAs == nil {
		t.Errorf("TLS %+v, want the CA loaded", opts.HTTP.TLS)
	}
	s, _ = Parse([]byte(tracingBase+"tracing:\n  otlp:\n    grpc:\n      tls: {ca: missing.pem}\n"), "ferry.yaml", dir)
	if _, err := s.Tracing.Options(); err == nil || !strings.HasPrefix(err.Error(), "tracing.otlp.grpc.tls: ca: ") {
		t.Errorf("Options() with a missing CA: %v, want a tracing.otlp.grpc.tls: ca: error", err)
	}
}

func TestTracingRedacted(t *testing.T) {
	s, problems := Parse([]byte(tracingBase+`tracing:
  otlp:
    http:
      headers: {Authorization: Bearer abc, x-honeycomb-team: k123}
`), "ferry.yaml", "/etc/ferry")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	red := s.Tracing.Redacted()
	for k, v := range red.OTLP.HTTP.Headers {
		if v != "<redacted>" {
			t.Errorf("header %s shown as %q", k, v)
		}
	}
	if s.Tracing.OTLP.HTTP.Headers["x-honeycomb-team"] != "k123" {
		t.Error("Redacted changed the original")
	}
	if (*TracingConfig)(nil).Redacted() != nil {
		t.Error("nil.Redacted() is not nil")
	}
}

// writeTestCA writes a self-signed CA certificate in PEM to path.
func writeTestCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
