// Package tracing traces the requests Ferry proxies with OpenTelemetry and
// exports the spans to a collector over OTLP (HTTP/protobuf or gRPC).
//
// Each request gets one SERVER span at the entry point (StartRequest),
// continuing the client's W3C trace context (traceparent, tracestate) or
// starting a trace, and one CLIENT span per upstream attempt (StartAttempt),
// so that retries show as separate children. Attributes follow OpenTelemetry's
// HTTP semantic conventions, plus ferry.entrypoint, ferry.router,
// ferry.service and ferry.server.url.
//
// Sampling is decided before the SDK is touched: a request that is not
// sampled (sampleRate 0, a client's traceparent that says "not sampled", or
// the ratio) costs a header lookup and allocates nothing, and its trace
// context (traceparent, tracestate, baggage) reaches the upstream exactly as
// the client sent it. A client can lower the sampling (its flag "not
// sampled" is honoured) but not raise it: a sampled traceparent is still
// subject to sampleRate, decided on its trace id, so that every hop with the
// same rate agrees.
//
// Spans are exported in the background by a batch span processor with a
// bounded queue: when the collector is slow or down, spans are dropped and
// requests never wait. A failing exporter is logged once when it starts
// failing and once when it recovers.
//
// A nil *Tracer is tracing turned off: every method is a cheap no-op, as are
// the methods of a nil *RequestSpan and a nil *AttemptSpan.
package tracing

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc/credentials"

	"github.com/ferryproxy/ferry/router/config"
)

// DefaultServiceName is the service.name of Ferry's spans when
// Options.ServiceName is empty.
const DefaultServiceName = "ferry"

// Export defaults: a collector that is slow or down holds one batch for at
// most exportTimeout (retrying transient failures), while the queue takes up
// to queueSize spans; beyond that, spans are dropped.
const (
	defaultBatchTimeout = time.Second
	queueSize           = 4096
	batchSize           = 512
	exportTimeout       = 10 * time.Second
)

// scopeName is the instrumentation scope of Ferry's spans.
const scopeName = "github.com/ferryproxy/ferry/router/tracing"

// Options configure a Tracer. The zero value of SampleRate samples nothing:
// callers fill it from the static configuration, whose default is 1.
type Options struct {
	// ServiceName is the service.name resource attribute (default
	// DefaultServiceName, or ResourceAttributes["service.name"] when set).
	ServiceName string
	// SampleRate is the share of requests traced, in [0, 1].
	SampleRate float64
	// ResourceAttributes are added to the resource of every span.
	ResourceAttributes map[string]string
	// CapturedRequestHeaders are recorded as http.request.header.<name>
	// attributes; the values of credential headers (config.IsSecretName)
	// are recorded as config.RedactedText.
	CapturedRequestHeaders []string
	// CapturedResponseHeaders are recorded as http.response.header.<name>
	// attributes, redacted likewise.
	CapturedResponseHeaders []string
	// HTTP exports spans with OTLP over HTTP (protobuf).
	HTTP *OTLPHTTP
	// GRPC exports spans with OTLP over gRPC. Set HTTP or GRPC, not both.
	GRPC *OTLPGRPC

	batchTimeout time.Duration         // tests: how often spans are exported (default defaultBatchTimeout)
	noRetry      bool                  // tests: report a failed export at once
	exporter     sdktrace.SpanExporter // tests and benchmarks: replaces the OTLP exporter
}

// OTLPHTTP is an OTLP/HTTP collector.
type OTLPHTTP struct {
	// Endpoint is the collector's URL with its path, e.g.
	// "https://collector:4318/v1/traces"; http:// sends in clear text.
	Endpoint string
	// Headers are sent with every export (credentials, tenant).
	Headers map[string]string
	// TLS configures an https:// endpoint; nil uses the system's roots.
	TLS *tls.Config
}

// OTLPGRPC is an OTLP/gRPC collector.
type OTLPGRPC struct {
	// Endpoint is the collector's host:port, e.g. "collector:4317".
	Endpoint string
	// Insecure sends in clear text instead of TLS.
	Insecure bool
	// Headers are sent as metadata with every export.
	Headers map[string]string
	// TLS configures the connection when not Insecure; nil uses the
	// system's roots.
	TLS *tls.Config
}

// Tracer starts Ferry's spans. It is safe for concurrent use.
type Tracer struct {
	rate     float64
	bound    uint64                   // trace ids whose bits 64..126 are below it are sampled
	provider *sdktrace.TracerProvider // nil at sampleRate 0
	tracer   trace.Tracer             // nil at sampleRate 0
	exporter *watchedExporter
	extract  propagation.TraceContext

	serverStart []trace.SpanStartOption
	clientStart []trace.SpanStartOption
	reqHeaders  []capturedHeader
	respHeaders []capturedHeader
}

// New returns a tracer exporting to opts.HTTP or opts.GRPC, or nil, nil
// when neither is set (tracing off). At sampleRate 0 no exporter is made:
// the tracer only keeps trace contexts flowing to the upstreams. ctx bounds
// the setup; the export goroutine runs until Shutdown.
func New(ctx context.Context, opts Options, log *zap.Logger) (*Tracer, error) {
	if opts.HTTP == nil && opts.GRPC == nil {
		return nil, nil
	}
	if opts.HTTP != nil && opts.GRPC != nil {
		return nil, errors.New("tracing: otlp: set http or grpc, not both")
	}
	if math.IsNaN(opts.SampleRate) || opts.SampleRate < 0 || opts.SampleRate > 1 {
		return nil, fmt.Errorf("tracing: sampleRate: %v is not between 0 and 1", opts.SampleRate)
	}
	if log == nil {
		log = zap.NewNop()
	}
	reqHeaders, err := captureList(opts.CapturedRequestHeaders, "http.request.header.")
	if err != nil {
		return nil, fmt.Errorf("tracing: capturedRequestHeaders: %w", err)
	}
	respHeaders, err := captureList(opts.CapturedResponseHeaders, "http.response.header.")
	if err != nil {
		return nil, fmt.Errorf("tracing: capturedResponseHeaders: %w", err)
	}
	t := &Tracer{
		rate:        opts.SampleRate,
		bound:       ratioBound(opts.SampleRate),
		serverStart: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)},
		clientStart: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		reqHeaders:  reqHeaders,
		respHeaders: respHeaders,
	}
	exp, endpoint, err := newExporter(ctx, opts)
	if err != nil {
		return nil, err
	}
	name := serviceName(opts)
	if opts.SampleRate == 0 {
		log.Info("tracing on at sampleRate 0: no span is recorded, trace contexts pass through to the upstreams",
			zap.String("serviceName", name))
		return t, nil
	}
	res, err := newResource(ctx, name, opts.ResourceAttributes)
	if err != nil {
		return nil, err
	}
	client := opts.exporter
	if client == nil {
		if client, err = exp(); err != nil {
			return nil, err
		}
	}
	t.exporter = &watchedExporter{next: client, log: log, endpoint: endpoint}
	batchTimeout := opts.batchTimeout
	if batchTimeout <= 0 {
		batchTimeout = defaultBatchTimeout
	}
	bsp := sdktrace.NewBatchSpanProcessor(t.exporter,
		sdktrace.WithMaxQueueSize(queueSize),
		sdktrace.WithMaxExportBatchSize(batchSize),
		sdktrace.WithBatchTimeout(batchTimeout),
		sdktrace.WithExportTimeout(2*exportTimeout))
	t.provider = sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(bsp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()), // the decision is Tracer.sample's
	)
	t.tracer = t.provider.Tracer(scopeName, trace.WithSchemaURL(semconv.SchemaURL))
	log.Info("tracing on", zap.String("endpoint", endpoint), zap.Float64("sampleRate", opts.SampleRate),
		zap.String("serviceName", name))
	return t, nil
}

// Shutdown exports the spans still queued and stops the exporter. It
// returns an error when the collector could not be reached at the end, or
// ctx ended first.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	if err == nil && t.exporter.failing.Load() {
		if last := t.exporter.lastErr.Load(); last != nil {
			err = *last
		}
	}
	if err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// serviceName is the service.name of opts.
func serviceName(opts Options) string {
	if opts.ServiceName != "" {
		return opts.ServiceName
	}
	if n := opts.ResourceAttributes[string(semconv.ServiceNameKey)]; n != "" {
		return n
	}
	return DefaultServiceName
}

// newResource describes this process: OTEL_RESOURCE_ATTRIBUTES, the SDK,
// the host name, then the configured attributes and service name, each
// overriding the ones before.
func newResource(ctx context.Context, name string, attrs map[string]string) (*resource.Resource, error) {
	kvs := make([]attribute.KeyValue, 0, len(attrs)+1)
	for k, v := range attrs {
		kvs = append(kvs, attribute.String(k, v))
	}
	kvs = append(kvs, semconv.ServiceName(name))
	res, err := resource.New(ctx,
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(kvs...),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return res, nil
}

// newExporter checks the endpoint of opts and returns a constructor of its
// exporter, and the endpoint to log (its userinfo and secret query values
// redacted).
func newExporter(ctx context.Context, opts Options) (func() (sdktrace.SpanExporter, error), string, error) {
	initial, maxInterval := 500*time.Millisecond, 5*time.Second
	if h := opts.HTTP; h != nil {
		u, err := url.Parse(h.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "", fmt.Errorf("tracing: otlp.http.endpoint: %q is not an http:// or https:// URL", config.RedactURL(h.Endpoint))
		}
		if u.Scheme == "http" && h.TLS != nil {
			return nil, "", errors.New("tracing: otlp.http: tls is set but the endpoint is http://")
		}
		o := []otlptracehttp.Option{
			otlptracehttp.WithEndpointURL(h.Endpoint),
			otlptracehttp.WithTimeout(exportTimeout),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: !opts.noRetry, InitialInterval: initial,
				MaxInterval: maxInterval, MaxElapsedTime: exportTimeout}),
		}
		if len(h.Headers) > 0 {
			o = append(o, otlptracehttp.WithHeaders(h.Headers))
		}
		if h.TLS != nil {
			o = append(o, otlptracehttp.WithTLSClientConfig(h.TLS))
		}
		return func() (sdktrace.SpanExporter, error) {
			e, err := otlptracehttp.New(ctx, o...)
			if err != nil {
				return nil, fmt.Errorf("tracing: otlp.http: %w", err)
			}
			return e, nil
		}, config.RedactURL(h.Endpoint), nil
	}
	g := opts.GRPC
	if err := checkHostPort(g.Endpoint); err != nil {
		return nil, "", fmt.Errorf("tracing: otlp.grpc.endpoint: %w", err)
	}
	if g.Insecure && g.TLS != nil {
		return nil, "", errors.New("tracing: otlp.grpc: set insecure or tls, not both")
	}
	o := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(g.Endpoint),
		otlptracegrpc.WithTimeout(exportTimeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: !opts.noRetry, InitialInterval: initial,
			MaxInterval: maxInterval, MaxElapsedTime: exportTimeout}),
	}
	switch {
	case g.Insecure:
		o = append(o, otlptracegrpc.WithInsecure())
	case g.TLS != nil:
		o = append(o, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(g.TLS)))
	}
	if len(g.Headers) > 0 {
		o = append(o, otlptracegrpc.WithHeaders(g.Headers))
	}
	scheme := "grpcs://"
	if g.Insecure {
		scheme = "grpc://"
	}
	return func() (sdktrace.SpanExporter, error) {
		e, err := otlptracegrpc.New(ctx, o...)
		if err != nil {
			return nil, fmt.Errorf("tracing: otlp.grpc: %w", err)
		}
		return e, nil
	}, scheme + g.Endpoint, nil
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

// watchedExporter logs when exports start failing and when they recover,
// once per change, and swallows the errors so that the SDK does not hand
// each one to OpenTelemetry's global error handler.
type watchedExporter struct {
	next     sdktrace.SpanExporter
	log      *zap.Logger
	endpoint string
	failing  atomic.Bool
	lastErr  atomic.Pointer[error]
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *watchedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	if err != nil {
		e.lastErr.Store(&err)
		if !e.failing.Swap(true) {
			e.log.Warn("trace exporter failed: spans are dropped until it recovers",
				zap.String("endpoint", e.endpoint), zap.Int("spans", len(spans)),
				zap.String("error", config.RedactText(err.Error())))
		}
		return nil
	}
	if e.failing.Swap(false) {
		e.log.Info("trace exporter recovered", zap.String("endpoint", e.endpoint))
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter.
func (e *watchedExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

var _ sdktrace.SpanExporter = (*watchedExporter)(nil)
