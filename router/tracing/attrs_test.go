package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferryproxy/ferry/router/fault"
)

func TestParseTraceparent(t *testing.T) {
	tid := "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		in      string
		low     uint64
		sampled bool
		ok      bool
	}{
		{"00-" + tid + "-00f067aa0ba902b7-01", 0xa3ce929d0e0e4736, true, true},
		{"00-" + tid + "-00f067aa0ba902b7-00", 0xa3ce929d0e0e4736, false, true},
		{"00-" + tid + "-00f067aa0ba902b7-03", 0xa3ce929d0e0e4736, true, true},
		{"01-" + tid + "-00f067aa0ba902b7-01-future", 0xa3ce929d0e0e4736, true, true},
		{"00-" + tid + "-00f067aa0ba902b7-01-extra", 0, false, false},
		{"ff-" + tid + "-00f067aa0ba902b7-01", 0, false, false},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0, false, false},
		{"00-" + tid + "-0000000000000000-01", 0, false, false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 0, false, false},
		{"00-" + tid + "-00f067aa0ba902b7", 0, false, false},
		{"", 0, false, false},
		{"garbage", 0, false, false},
	}
	for _, tc := range tests {
		low, sampled, ok := parseTraceparent(tc.in)
		if low != tc.low || sampled != tc.sampled || ok != tc.ok {
			t.Errorf("parseTraceparent(%q) = %x, %v, %v; want %x, %v, %v", tc.in, low, sampled, ok, tc.low, tc.sampled, tc.ok)
		}
		// Agree with OpenTelemetry's own parser on validity and sampling.
		sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
			propagation.HeaderCarrier(http.Header{"Traceparent": {tc.in}})))
		if sc.IsValid() != ok || (ok && sc.IsSampled() != sampled) {
			t.Errorf("%q: OpenTelemetry says valid %v sampled %v", tc.in, sc.IsValid(), sc.IsSampled())
		}
	}
}

func TestTraceparentFormat(t *testing.T) {
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsSampled | trace.FlagsRandom} {
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
			SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			TraceFlags: flags,
		})
		h := http.Header{}
		propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), propagation.HeaderCarrier(h))
		if got, want := traceparent(sc), h.Get("Traceparent"); got != want {
			t.Errorf("traceparent = %q, OpenTelemetry writes %q", got, want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in, host string
		def      int
		port     int
	}{
		{"example.com", "example.com", 80, 80},
		{"example.com:8080", "example.com", 80, 8080},
		{"127.0.0.1:54321", "127.0.0.1", 0, 54321},
		{"[::1]:443", "::1", 80, 443},
		{"[::1]", "::1", 443, 443},
		{"host:notaport", "host:notaport", 80, 80},
		{"", "", 80, 80},
	}
	for _, tc := range tests {
		if host, port := splitHostPort(tc.in, tc.def); host != tc.host || port != tc.port {
			t.Errorf("splitHostPort(%q, %d) = %q, %d; want %q, %d", tc.in, tc.def, host, port, tc.host, tc.port)
		}
	}
}

func TestServerHostPort(t *testing.T) {
	tests := []struct {
		in, host string
		port     int
	}{
		{"http://10.0.0.1:8080", "10.0.0.1", 8080},
		{"https://app.internal", "app.internal", 443},
		{"h2c://10.0.0.2:50051/", "10.0.0.2", 50051},
		{"http://user:pw@[2001:db8::1]/base", "2001:db8::1", 80},
	}
	for _, tc := range tests {
		if host, port := serverHostPort(tc.in); host != tc.host || port != tc.port {
			t.Errorf("serverHostPort(%q) = %q, %d; want %q, %d", tc.in, host, port, tc.host, tc.port)
		}
	}
}

func TestFullURL(t *testing.T) {
	tests := []struct{ server, path, want string }{
		{"http://h:1", "/a", "http://h:1/a"},
		{"http://h:1/", "/a", "http://h:1/a"},
		{"http://h:1/base", "/a", "http://h:1/base/a"},
	}
	for _, tc := range tests {
		if got := fullURL(tc.server, tc.path); got != tc.want {
			t.Errorf("fullURL(%q, %q) = %q, want %q", tc.server, tc.path, got, tc.want)
		}
	}
}

func TestNormalizeMethod(t *testing.T) {
	tests := []struct {
		in, method, name string
		original         bool
	}{
		{"GET", "GET", "GET", false},
		{"QUERY", "QUERY", "QUERY", false},
		{"get", "_OTHER", "HTTP", true},
		{"PROPFIND", "_OTHER", "HTTP", true},
	}
	for _, tc := range tests {
		m, orig := normalizeMethod(tc.in)
		if m != tc.method || orig != tc.original || spanName(m) != tc.name {
			t.Errorf("normalizeMethod(%q) = %q, %v (name %q); want %q, %v (%q)", tc.in, m, orig, spanName(m), tc.method, tc.original, tc.name)
		}
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		status int
		err    error
		want   string
	}{
		{502, &fault.Error{Kind: fault.Upstream, Err: errors.New("refused")}, "upstream_error"},
		{504, fmt.Errorf("wrapped: %w", &fault.Error{Kind: fault.UpstreamTimeout, Err: context.DeadlineExceeded}), "upstream_timeout"},
		{499, &fault.Error{Kind: fault.ClientGone, Err: context.Canceled}, "client_gone"},
		{0, context.DeadlineExceeded, "timeout"},
		{0, os.ErrDeadlineExceeded, "timeout"},
		{0, context.Canceled, "canceled"},
		{503, nil, "503"},
		{418, nil, "418"},
		{0, errors.New("odd"), "_OTHER"},
	}
	for _, tc := range tests {
		if got := errorType(tc.status, tc.err); got != tc.want {
			t.Errorf("errorType(%d, %v) = %q, want %q", tc.status, tc.err, got, tc.want)
		}
	}
}

func TestProtocolVersion(t *testing.T) {
	tests := []struct {
		major, minor int
		want         string
	}{{1, 0, "1.0"}, {1, 1, "1.1"}, {2, 0, "2"}, {3, 0, "3"}, {0, 9, "0.9"}}
	for _, tc := range tests {
		if got := protocolVersion(tc.major, tc.minor); got != tc.want {
			t.Errorf("protocolVersion(%d, %d) = %q, want %q", tc.major, tc.minor, got, tc.want)
		}
	}
}

func TestPassThroughKeepsOutHeaders(t *testing.T) {
	in := http.Header{"Traceparent": {"a"}, "Tracestate": {"b"}, "Baggage": {"c"}}
	out := http.Header{"Traceparent": {"mine"}}
	passThrough(in, out)
	if out.Get("Traceparent") != "mine" || out.Get("Tracestate") != "b" || out.Get("Baggage") != "c" {
		t.Errorf("out = %v", out)
	}
	out["Baggage"] = append(out["Baggage"], "d")
	if len(in["Baggage"]) != 1 {
		t.Error("appending to out changed in")
	}
}
