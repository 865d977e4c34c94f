package configs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/tracing"
)

// Tracing defaults: Traefik's, so that "tracing: {}" sends to a collector
// on the same host.
const (
	// DefaultTracingHTTPEndpoint is tracing.otlp.http.endpoint when unset.
	DefaultTracingHTTPEndpoint = "https://localhost:4318/v1/traces"
	// DefaultTracingGRPCEndpoint is tracing.otlp.grpc.endpoint when unset.
	DefaultTracingGRPCEndpoint = "localhost:4317"
	// DefaultTracingSampleRate is tracing.sampleRate when unset.
	DefaultTracingSampleRate = 1.0
)

// TracingConfig traces requests with OpenTelemetry: a span per request at
// the entry point and one per attempt to reach a server, exported over
// OTLP. Present (even empty: "tracing: {}") turns tracing on.
type TracingConfig struct {
	// ServiceName is the service.name of Ferry's spans (default "ferry").
	ServiceName string `json:"serviceName"`
	// SampleRate is the share of requests traced, from 0 to 1 (default 1).
	// A client's traceparent that says "not sampled" is honoured; one that
	// says "sampled" is still subject to this rate. At 0 no span is
	// recorded, but clients' trace contexts still reach the servers.
	SampleRate *float64 `json:"sampleRate"`
	// ResourceAttributes are added to the resource of every span, e.g.
	// deployment.environment.name: prod (they override
	// OTEL_RESOURCE_ATTRIBUTES; serviceName overrides service.name).
	ResourceAttributes map[string]string `json:"resourceAttributes"`
	// CapturedRequestHeaders are request headers recorded on the spans as
	// http.request.header.<name> attributes. Credential headers
	// (Authorization, Cookie, X-Api-Key…) are recorded as "<redacted>".
	CapturedRequestHeaders []string `json:"capturedRequestHeaders"`
	// CapturedResponseHeaders are response headers recorded on the spans as
	// http.response.header.<name> attributes, redacted likewise.
	CapturedResponseHeaders []string `json:"capturedResponseHeaders"`
	// OTLP is the collector spans are exported to (default: OTLP/HTTP to
	// DefaultTracingHTTPEndpoint).
	OTLP *TracingOTLP `json:"otlp"`
}

// TracingOTLP selects the OTLP transport; set http or grpc, not both.
type TracingOTLP struct {
	// HTTP exports over OTLP/HTTP (protobuf).
	HTTP *TracingOTLPHTTP `json:"http"`
	// GRPC exports over OTLP/gRPC.
	GRPC *TracingOTLPGRPC `json:"grpc"`
}

// TracingOTLPHTTP is an OTLP/HTTP collector.
type TracingOTLPHTTP struct {
	// Endpoint is the collector's URL with its path (default
	// "https://localhost:4318/v1/traces"); http:// sends in clear text.
	Endpoint string `json:"endpoint"`
	// Headers are sent with every export, e.g. an API key. Their values are
	// secrets: never shown or logged.
	Headers map[string]string `json:"headers"`
	// TLS configures an https:// endpoint: ca, cert and key files,
	// insecureSkipVerify.
	TLS *config.ClientTLS `json:"tls"`
}

// TracingOTLPGRPC is an OTLP/gRPC collector.
type TracingOTLPGRPC struct {
	// Endpoint is the collector's host:port (default "localhost:4317").
	Endpoint string `json:"endpoint"`
	// Insecure sends in clear text instead of TLS.
	Insecure bool `json:"insecure"`
	// Headers are sent as metadata with every export, e.g. an API key.
	// Their values are secrets: never shown or logged.
	Headers map[string]string `json:"headers"`
	// TLS configures the connection when not insecure: ca, cert and key
	// files, insecureSkipVerify.
	TLS *config.ClientTLS `json:"tls"`
}

// checkTracing checks the tracing section and resolves its file paths
// against dir; name prefixes the problems.
func (s *Static) checkTracing(name, dir string) []string {
	var problems []string
	for _, p := range s.Tracing.check(dir) {
		problems = append(problems, name+": "+p)
	}
	return problems
}

// check returns the problems of c, each starting with its key path, and
// resolves its TLS file paths against dir.
func (c *TracingConfig) check(dir string) []string {
	if c == nil {
		return nil
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r := c.SampleRate; r != nil && (math.IsNaN(*r) || *r < 0 || *r > 1) {
		add("tracing.sampleRate: %v is not between 0 and 1", *r)
	}
	for _, k := range sortedNames(c.ResourceAttributes) {
		if strings.TrimSpace(k) == "" {
			add("tracing.resourceAttributes: an attribute has an empty name")
		}
	}
	for i, h := range c.CapturedRequestHeaders {
		if !httpguts.ValidHeaderFieldName(h) {
			add("tracing.capturedRequestHeaders[%d]: %q is not a header name", i, h)
		}
	}
	for i, h := range c.CapturedResponseHeaders {
		if !httpguts.ValidHeaderFieldName(h) {
			add("tracing.capturedResponseHeaders[%d]: %q is not a header name", i, h)
		}
	}
	if c.OTLP == nil {
		return problems
	}
	if c.OTLP.HTTP != nil && c.OTLP.GRPC != nil {
		add("tracing.otlp: set http or grpc, not both")
	}
	if h := c.OTLP.HTTP; h != nil {
		if h.Endpoint != "" {
			u, err := url.Parse(h.Endpoint)
			switch {
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				add("tracing.otlp.http.endpoint: %q is not an http:// or https:// URL", config.RedactURL(h.Endpoint))
			case u.Scheme == "http" && h.TLS != nil:
				add("tracing.otlp.http.tls: set, but the endpoint is http:// (use https://)")
			}
		}
		problems = append(problems, checkHeaders("tracing.otlp.http.headers", h.Headers)...)
		problems = append(problems, checkTLS("tracing.otlp.http.tls", h.TLS, dir)...)
	}
	if g := c.OTLP.GRPC; g != nil {
		if g.Endpoint != "" {
			if err := checkHostPort(g.Endpoint); err != nil {
				add("tracing.otlp.grpc.endpoint: %v", err)
			}
		}
		if g.Insecure && g.TLS != nil {
			add("tracing.otlp.grpc: set insecure or tls, not both")
		}
		problems = append(problems, checkHeaders("tracing.otlp.grpc.headers", g.Headers)...)
		problems = append(problems, checkTLS("tracing.otlp.grpc.tls", g.TLS, dir)...)
	}
	return problems
}

// checkHostPort checks that s is host:port with a port number.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	return nil
}

// checkHeaders checks exporter headers; values are secrets and never
// appear in a problem.
func checkHeaders(path string, headers map[string]string) []string {
	var problems []string
	for _, k := range sortedNames(headers) {
		if !httpguts.ValidHeaderFieldName(k) {
			problems = append(problems, fmt.Sprintf("%s: %q is not a header name", path, k))
		} else if !httpguts.ValidHeaderFieldValue(headers[k]) {
			problems = append(problems, fmt.Sprintf("%s.%s: the value has a control character (not shown)", path, k))
		}
	}
	return problems
}

// checkTLS checks a client TLS section and resolves its paths against dir.
func checkTLS(path string, t *config.ClientTLS, dir string) []string {
	if t == nil {
		return nil
	}
	t.CA, t.Cert, t.Key = resolve(dir, t.CA), resolve(dir, t.Cert), resolve(dir, t.Key)
	if (t.Cert == "") != (t.Key == "") {
		return []string{path + ": set cert and key together"}
	}
	return nil
}

// Options returns the tracing options of c, with the defaults filled in
// and the TLS files read. A nil c (tracing off) gives the zero Options, for
// which tracing.New returns a nil tracer.
func (c *TracingConfig) Options() (tracing.Options, error) {
	if c == nil {
		return tracing.Options{}, nil
	}
	opts := tracing.Options{
		ServiceName:             c.ServiceName,
		SampleRate:              DefaultTracingSampleRate,
		ResourceAttributes:      c.ResourceAttributes,
		CapturedRequestHeaders:  c.CapturedRequestHeaders,
		CapturedResponseHeaders: c.CapturedResponseHeaders,
	}
	if c.SampleRate != nil {
		opts.SampleRate = *c.SampleRate
	}
	otlp := c.OTLP
	if otlp == nil || (otlp.HTTP == nil && otlp.GRPC == nil) {
		otlp = &TracingOTLP{HTTP: &TracingOTLPHTTP{}}
	}
	if h := otlp.HTTP; h != nil {
		opts.HTTP = &tracing.OTLPHTTP{Endpoint: h.Endpoint, Headers: h.Headers}
		if opts.HTTP.Endpoint == "" {
			opts.HTTP.Endpoint = DefaultTracingHTTPEndpoint
		}
		var err error
		if opts.HTTP.TLS, err = clientTLS(h.TLS); err != nil {
			return tracing.Options{}, fmt.Errorf("tracing.otlp.http.tls: %w", err)
		}
	}
	if g := otlp.GRPC; g != nil {
		opts.GRPC = &tracing.OTLPGRPC{Endpoint: g.Endpoint, Insecure: g.Insecure, Headers: g.Headers}
		if opts.GRPC.Endpoint == "" {
			opts.GRPC.Endpoint = DefaultTracingGRPCEndpoint
		}
		var err error
		if opts.GRPC.TLS, err = clientTLS(g.TLS); err != nil {
			return tracing.Options{}, fmt.Errorf("tracing.otlp.grpc.tls: %w", err)
		}
	}
	return opts, nil
}

// clientTLS reads the files of t; nil for nil.
func clientTLS(t *config.ClientTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user asked for it
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: no certificate in %s", t.CA)
		}
		conf.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Redacted returns a copy of c for showing: the values of the exporter
// headers (credentials) are replaced by config.RedactedText.
func (c *TracingConfig) Redacted() *TracingConfig {
	if c == nil {
		return nil
	}
	out := *c
	if c.OTLP != nil {
		o := *c.OTLP
		if o.HTTP != nil {
			h := *o.HTTP
			h.Headers = redactValues(h.Headers)
			o.HTTP = &h
		}
		if o.GRPC != nil {
			g := *o.GRPC
			g.Headers = redactValues(g.Headers)
			o.GRPC = &g
		}
		out.OTLP = &o
	}
	return &out
}

// redactValues returns a copy of m with every value redacted.
func redactValues(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = config.RedactedText
	}
	return out
}
