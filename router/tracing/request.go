package tracing

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferryproxy/ferry/router/config"
)

// Attribute keys of Ferry's own.
const (
	EntryPointKey = attribute.Key("ferry.entrypoint")
	RouterKey     = attribute.Key("ferry.router")
	ServiceKey    = attribute.Key("ferry.service")
	ServerURLKey  = attribute.Key("ferry.server.url")
)

// requestKey is the context key of a request's *RequestSpan.
type requestKey struct{}

// maxRequestAttrs bounds the attributes a request span sets itself
// (captured headers aside): 11 at the start, 6 at the end.
const maxRequestAttrs = 17

// RequestSpan is the SERVER span of one request. Its methods are meant for
// the goroutine serving the request; StartAttempt may run on others. A nil
// *RequestSpan (the request is not sampled) ignores every call.
type RequestSpan struct {
	span     trace.Span
	name     string // the span name before routing: the method, or HTTP
	router   string
	service  string
	traceID  string // cached by TraceID
	ended    bool
	attempts atomic.Int64
	tracer   *Tracer

	mu     sync.Mutex // guards server (attempts may run concurrently, e.g. mirrors)
	server string     // the last attempt's server URL, redacted

	nattrs  int
	attrs   [maxRequestAttrs]attribute.KeyValue
	headers []attribute.KeyValue // captured request and response headers
}

// StartRequest starts the SERVER span of r at entry point entryPoint,
// continuing the client's trace when r carries a valid traceparent, and
// returns r with the span in its context (for StartAttempt). When the
// request is not sampled it returns r itself and a nil *RequestSpan, and
// allocates nothing.
func (t *Tracer) StartRequest(r *http.Request, entryPoint string) (*http.Request, *RequestSpan) {
	if t == nil || t.tracer == nil || !t.sample(r.Header) {
		return r, nil
	}
	ctx := t.extract.Extract(r.Context(), headerCarrier(r.Header))
	method, original := normalizeMethod(r.Method)
	s := &RequestSpan{name: spanName(method), tracer: t}
	ctx, s.span = t.tracer.Start(ctx, s.name, t.serverStart...)
	s.add(semconv.HTTPRequestMethodKey.String(method))
	if original {
		s.add(semconv.HTTPRequestMethodOriginalKey.String(r.Method))
	}
	scheme, defaultPort := "http", 80
	if r.TLS != nil {
		scheme, defaultPort = "https", 443
	}
	s.add(semconv.URLPathKey.String(r.URL.Path))
	s.add(semconv.URLSchemeKey.String(scheme))
	if r.URL.RawQuery != "" {
		// config.RedactURL sees the query after "?" and redacts credential values.
		s.add(semconv.URLQueryKey.String(config.RedactURL("?" + r.URL.RawQuery)[1:]))
	}
	host, port := splitHostPort(r.Host, defaultPort)
	s.add(semconv.ServerAddressKey.String(host))
	s.add(semconv.ServerPortKey.Int(port))
	if ip, _ := splitHostPort(r.RemoteAddr, 0); ip != "" {
		s.add(semconv.ClientAddressKey.String(ip))
	}
	if ua := r.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		s.add(semconv.UserAgentOriginalKey.String(ua[0]))
	}
	s.add(semconv.NetworkProtocolVersionKey.String(protocolVersion(r.ProtoMajor, r.ProtoMinor)))
	s.add(EntryPointKey.String(entryPoint))
	s.headers = capture(s.headers, t.reqHeaders, r.Header)
	return r.WithContext(context.WithValue(ctx, requestKey{}, s)), s
}

// add appends one attribute; it is never called more than maxRequestAttrs times.
func (s *RequestSpan) add(kv attribute.KeyValue) {
	s.attrs[s.nattrs] = kv
	s.nattrs++
}

// SetRoute records the router that matched and its service; the span is
// then named "<METHOD> <router>".
func (s *RequestSpan) SetRoute(router, service string) {
	if s == nil {
		return
	}
	s.router, s.service = router, service
}

// CaptureResponseHeaders records the configured response headers (see
// Options.CapturedResponseHeaders) from h, the headers of the answer sent
// to the client. Call it before End.
func (s *RequestSpan) CaptureResponseHeaders(h http.Header) {
	if s == nil {
		return
	}
	s.headers = capture(s.headers, s.tracer.respHeaders, h)
}

// End ends the span with the status and body size (negative: unknown)
// sent to the client and the error that failed the request, if any. A
// status of 500 or more, or none with an error, marks the span as an
// error; a 4xx is the client's and leaves it unset (error.type still says
// why when err is set). Later calls do nothing.
func (s *RequestSpan) End(status int, respSize int64, err error) {
	if s == nil || s.ended {
		return
	}
	s.ended = true
	if s.router != "" {
		s.span.SetName(s.name + " " + s.router)
		s.add(RouterKey.String(s.router))
	}
	if s.service != "" {
		s.add(ServiceKey.String(s.service))
	}
	s.mu.Lock()
	server := s.server
	s.mu.Unlock()
	if server != "" {
		s.add(ServerURLKey.String(server))
	}
	if status > 0 {
		s.add(semconv.HTTPResponseStatusCodeKey.Int(status))
	}
	if respSize >= 0 {
		s.add(semconv.HTTPResponseBodySizeKey.Int64(respSize))
	}
	failed := status >= 500 || (status <= 0 && err != nil)
	if err != nil || failed {
		s.add(semconv.ErrorTypeKey.String(errorType(status, err)))
	}
	s.span.SetAttributes(s.attrs[:s.nattrs]...)
	if len(s.headers) > 0 {
		s.span.SetAttributes(s.headers...)
	}
	if failed {
		s.span.SetStatus(codes.Error, errorMessage(err))
	}
	s.span.End()
}

// TraceID returns the trace id (32 hex digits) for access log lines, or ""
// when the request is not sampled.
func (s *RequestSpan) TraceID() string {
	if s == nil {
		return ""
	}
	if s.traceID == "" {
		s.traceID = s.span.SpanContext().TraceID().String()
	}
	return s.traceID
}

// setServer records the server of the latest attempt.
func (s *RequestSpan) setServer(u string) {
	s.mu.Lock()
	s.server = u
	s.mu.Unlock()
}

// headerCarrier is propagation.HeaderCarrier without the allocation of
// canonicalising the lower-case names W3C trace context asks for.
type headerCarrier http.Header

// Get returns the first value of the header key.
func (h headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = h["Traceparent"]
	case "tracestate":
		v = h["Tracestate"]
	default:
		return http.Header(h).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Set sets the header key.
func (h headerCarrier) Set(key, value string) { http.Header(h).Set(key, value) }

// Keys lists the header names.
func (h headerCarrier) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

var _ propagation.TextMapCarrier = headerCarrier(nil)

// requestSpanOf returns the request span in ctx, or nil.
func requestSpanOf(ctx context.Context) *RequestSpan {
	s, _ := ctx.Value(requestKey{}).(*RequestSpan)
	return s
}

// ratioBound is the bound under which bits 64..126 of a trace id mean
// "sampled" at rate, as in OpenTelemetry's TraceIDRatioBased sampler.
func ratioBound(rate float64) uint64 {
	if rate >= 1 {
		return 1 << 63
	}
	return uint64(rate * (1 << 63))
}

// sample decides whether a request with headers h is traced: a valid
// traceparent that says "not sampled" is honoured; one that says
// "sampled" is traced at sampleRate, decided on its trace id; without one,
// a new trace is started at sampleRate.
func (t *Tracer) sample(h http.Header) bool {
	if v := h["Traceparent"]; len(v) > 0 {
		if low, sampled, ok := parseTraceparent(v[0]); ok {
			if !sampled {
				return false
			}
			return t.rate >= 1 || low>>1 < t.bound
		}
	}
	return t.rate >= 1 || rand.Float64() < t.rate
}
