package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferryproxy/ferry/router/config"
)

// maxAttemptAttrs bounds the attributes an attempt span sets itself
// (captured headers aside): 7 at the start, 2 at the end.
const maxAttemptAttrs = 9

// propagated are the headers of a trace context, in canonical form.
var propagated = [...]string{"Traceparent", "Tracestate", "Baggage"}

// AttemptSpan is the CLIENT span of one attempt to reach an upstream
// server. A nil *AttemptSpan (the request is not sampled) ignores every
// call.
type AttemptSpan struct {
	span    trace.Span
	tracer  *Tracer
	ended   bool
	nattrs  int
	attrs   [maxAttemptAttrs]attribute.KeyValue
	headers []attribute.KeyValue
}

// StartAttempt starts the CLIENT span of one attempt to send r to the
// server at serverURL (its base URL, as configured), as a child of r's
// request span, and writes its traceparent into out, the headers sent
// upstream. Call it once per attempt: retries are separate attempts. When r
// is not sampled it returns nil and only makes sure that out carries the
// client's traceparent, tracestate and baggage, unchanged (they are copied
// from r.Header when out lacks them). A nil Tracer does nothing.
func (t *Tracer) StartAttempt(r *http.Request, serverURL string, out http.Header) *AttemptSpan {
	if t == nil {
		return nil
	}
	var parent *RequestSpan
	if t.tracer != nil {
		parent = requestSpanOf(r.Context())
	}
	if parent == nil {
		passThrough(r.Header, out)
		return nil
	}
	n := parent.attempts.Add(1)
	a := &AttemptSpan{tracer: t}
	_, a.span = t.tracer.Start(r.Context(), parent.name, t.clientStart...)
	server := serverURL
	if strings.ContainsAny(server, "@?") { // RedactURL allocates even when there is nothing to hide
		server = config.RedactURL(server)
	}
	parent.setServer(server)
	method, original := normalizeMethod(r.Method)
	a.add(semconv.HTTPRequestMethodKey.String(method))
	if original {
		a.add(semconv.HTTPRequestMethodOriginalKey.String(r.Method))
	}
	host, port := serverHostPort(serverURL)
	a.add(semconv.ServerAddressKey.String(host))
	a.add(semconv.ServerPortKey.Int(port))
	a.add(semconv.URLFullKey.String(fullURL(server, r.URL.EscapedPath())))
	a.add(ServerURLKey.String(server))
	if n > 1 {
		a.add(semconv.HTTPRequestResendCountKey.Int64(n - 1))
	}
	out["Traceparent"] = []string{traceparent(a.span.SpanContext())}
	passThrough(r.Header, out)
	a.headers = capture(a.headers, t.reqHeaders, out)
	return a
}

// add appends one attribute; it is never called more than maxAttemptAttrs times.
func (a *AttemptSpan) add(kv attribute.KeyValue) {
	a.attrs[a.nattrs] = kv
	a.nattrs++
}

// CaptureResponseHeaders records the configured response headers (see
// Options.CapturedResponseHeaders) of the server's answer. Call it before
// End.
func (a *AttemptSpan) CaptureResponseHeaders(h http.Header) {
	if a == nil {
		return
	}
	a.headers = capture(a.headers, a.tracer.respHeaders, h)
}

// End ends the attempt with the status the server answered (0 when no
// answer arrived) and the error that failed it, if any. A status of 400 or
// more, or an error, marks the span as an error. Later calls do nothing.
func (a *AttemptSpan) End(status int, err error) {
	if a == nil || a.ended {
		return
	}
	a.ended = true
	if status > 0 {
		a.add(semconv.HTTPResponseStatusCodeKey.Int(status))
	}
	failed := status >= 400 || err != nil
	if failed {
		a.add(semconv.ErrorTypeKey.String(errorType(status, err)))
	}
	a.span.SetAttributes(a.attrs[:a.nattrs]...)
	if len(a.headers) > 0 {
		a.span.SetAttributes(a.headers...)
	}
	if failed {
		a.span.SetStatus(codes.Error, errorMessage(err))
	}
	a.span.End()
}

// passThrough copies the trace context headers of in that out lacks.
func passThrough(in, out http.Header) {
	for _, k := range propagated {
		if _, ok := out[k]; ok {
			continue
		}
		if v, ok := in[k]; ok {
			out[k] = v[:len(v):len(v)] // shared, but an append to out copies
		}
	}
}

// traceparent formats sc as a W3C traceparent (version 00), keeping the
// sampled and random flags.
func traceparent(sc trace.SpanContext) string {
	const hexDigits = "0123456789abcdef"
	var b [55]byte
	copy(b[:], "00-")
	tid, sid := sc.TraceID(), sc.SpanID()
	for i, c := range tid {
		b[3+2*i], b[4+2*i] = hexDigits[c>>4], hexDigits[c&0xf]
	}
	b[35] = '-'
	for i, c := range sid {
		b[36+2*i], b[37+2*i] = hexDigits[c>>4], hexDigits[c&0xf]
	}
	b[52] = '-'
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	b[53], b[54] = hexDigits[flags>>4], hexDigits[flags&0xf]
	return string(b[:])
}
