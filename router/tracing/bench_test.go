package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter drops every span: benchmarks measure the request path,
// not the export.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// benchTracer returns a tracer at rate; nil for "nil". With otlp, spans go
// to a real OTLP/HTTP endpoint that discards them, else to discardExporter.
func benchTracer(b *testing.B, rate float64, otlp bool) *Tracer {
	b.Helper()
	opts := Options{SampleRate: rate, HTTP: &OTLPHTTP{Endpoint: "http://127.0.0.1:1/v1/traces"}}
	if otlp {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		b.Cleanup(srv.Close)
		opts.HTTP.Endpoint = srv.URL + "/v1/traces"
	} else {
		opts.exporter = discardExporter{}
	}
	tr, err := New(context.Background(), opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// benchRequest is a typical proxied request.
func benchRequest(traceparent string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example/api/items/42", nil)
	r.RemoteAddr = "192.0.2.10:51234"
	r.Header.Set("User-Agent", "bench/1.0")
	r.Header.Set("Accept", "*/*")
	if traceparent != "" {
		r.Header.Set("Traceparent", traceparent)
	}
	return r
}

var benchCases = []struct {
	name        string
	rate        float64
	nilTracer   bool
	otlp        bool
	traceparent string
}{
	{name: "nil"},
	{name: "rate0", rate: 0, traceparent: clientParent},
	{name: "rate1-parent-not-sampled", rate: 1, traceparent: "00-" + clientTraceID + "-" + clientSpanID + "-00"},
	{name: "rate1-new-trace", rate: 1},
	{name: "rate1-client-trace", rate: 1, traceparent: clientParent},
	{name: "rate1-otlphttp", rate: 1, otlp: true, traceparent: clientParent},
}

// BenchmarkRequest measures StartRequest, SetRoute and End.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			var tr *Tracer
			if bc.name != "nil" {
				tr = benchTracer(b, bc.rate, bc.otlp)
			}
			r := benchRequest(bc.traceparent)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_, span := tr.StartRequest(r, "web")
				span.SetRoute("app@file", "app@file")
				span.End(200, 1234, nil)
			}
		})
	}
}

// BenchmarkAttempt measures StartAttempt and End under one request.
func BenchmarkAttempt(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			var tr *Tracer
			if bc.name != "nil" {
				tr = benchTracer(b, bc.rate, bc.otlp)
			}
			r, span := tr.StartRequest(benchRequest(bc.traceparent), "web")
			defer span.End(200, 0, nil)
			out := r.Header.Clone() // what the reverse proxy sends
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a := tr.StartAttempt(r, "http://10.0.0.1:8080", out)
				a.End(200, nil)
			}
		})
	}
}

// BenchmarkRequestWithAttempt measures a whole proxied request: its span
// and one attempt.
func BenchmarkRequestWithAttempt(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			var tr *Tracer
			if bc.name != "nil" {
				tr = benchTracer(b, bc.rate, bc.otlp)
			}
			in := benchRequest(bc.traceparent)
			out := in.Header.Clone()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r, span := tr.StartRequest(in, "web")
				span.SetRoute("app@file", "app@file")
				a := tr.StartAttempt(r, "http://10.0.0.1:8080", out)
				a.End(200, nil)
				span.End(200, 1234, nil)
				_ = span.TraceID()
			}
		})
	}
}
