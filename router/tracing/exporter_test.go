package tracing

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/test/otlpreceiver"
)

func TestGRPCExporter(t *testing.T) {
	recv, err := otlpreceiver.StartGRPC("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, GRPC: &OTLPGRPC{Endpoint: recv.Endpoint, Insecure: true,
		Headers: map[string]string{"x-tenant": "acme"}}}, nil)
	_, got, _ := send(t, proxy(tr, up.URL), "/grpc", map[string]string{"Traceparent": clientParent})
	server, clients := byKind(t, waitCount(t, recv, clientTraceID, 2))
	if server.ParentSpanID != clientSpanID || clients[0].ParentSpanID != server.SpanID {
		t.Errorf("parents: server %q (want %s), client %q (want %s)", server.ParentSpanID, clientSpanID, clients[0].ParentSpanID, server.SpanID)
	}
	if !strings.Contains(got.Traceparent, clients[0].SpanID) {
		t.Errorf("upstream traceparent %q, want the attempt span %s", got.Traceparent, clients[0].SpanID)
	}
	if h := recv.Headers(); len(h) == 0 || len(h[0]["x-tenant"]) != 1 || h[0]["x-tenant"][0] != "acme" {
		t.Errorf("gRPC metadata %v, want x-tenant: acme", h)
	}
}

func TestExporterDown(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	up := startUpstream(t)
	down := closedURL(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: down + "/v1/traces"}}, zap.New(core))
	h := proxy(tr, up.URL)
	for i := range 5 {
		status, got, _ := send(t, h, "/", map[string]string{"Traceparent": clientParent})
		if status != http.StatusOK || !strings.HasPrefix(got.Traceparent, "00-"+clientTraceID+"-") {
			t.Fatalf("request %d with the exporter down: status %d traceparent %q", i, status, got.Traceparent)
		}
		time.Sleep(30 * time.Millisecond) // let a batch fail each time
	}
	deadline := time.Now().Add(waitSpans)
	for failed, _ := exporterLogs(logs); failed == 0 && time.Now().Before(deadline); failed, _ = exporterLogs(logs) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if failed, recovered := exporterLogs(logs); failed != 1 || recovered != 0 {
		t.Errorf("%d failure and %d recovery lines, want 1 and 0:\n%v", failed, recovered, logs.All())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err == nil || !strings.HasPrefix(err.Error(), "tracing: shutdown: ") {
		t.Errorf("Shutdown with the collector down: %v, want a tracing: shutdown: error", err)
	}
}

func TestExporterRecovers(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}, noRetry: true}, zap.New(core))
	h := proxy(tr, up.URL)
	recv.SetFailing(true)
	for range 3 {
		before := recv.Exports()
		send(t, h, "/", nil)
		waitExports(t, recv, before+1)
	}
	recv.SetFailing(false)
	_, _, traceID := send(t, h, "/", nil)
	waitCount(t, recv, traceID, 2)
	deadline := time.Now().Add(waitSpans)
	for _, recovered := exporterLogs(logs); recovered == 0 && time.Now().Before(deadline); _, recovered = exporterLogs(logs) {
		time.Sleep(5 * time.Millisecond)
	}
	if failed, recovered := exporterLogs(logs); failed != 1 || recovered != 1 {
		t.Errorf("%d failure and %d recovery lines, want 1 each:\n%v", failed, recovered, logs.All())
	}
}

func TestSlowCollectorNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: slow.URL + "/v1/traces"}}, nil)
	// Far more spans than the queue holds, while the collector hangs: they
	// are dropped, and ending them never waits for the collector.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 * queueSize {
			r, span := tr.StartRequest(httptest.NewRequest(http.MethodGet, "/", nil), "web")
			tr.StartAttempt(r, "http://127.0.0.1:1", http.Header{}).End(200, nil)
			span.End(200, 0, nil)
		}
	}()
	select {
	case <-done:
	case <-time.After(waitSpans):
		t.Fatal("ending spans blocked on a hanging collector")
	}
}

func TestShutdownFlushes(t *testing.T) {
	recv := startReceiver(t)
	tr, err := New(context.Background(), Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}, batchTimeout: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.StartRequest(httptest.NewRequest(http.MethodGet, "/", nil), "web")
	span.End(204, 0, nil)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if spans := recv.Spans(); len(spans) != 1 || spans[0].Int("http.response.status_code") != 204 {
		t.Errorf("after Shutdown: %+v, want the one span", spans)
	}
}

func TestNilIsOff(t *testing.T) {
	tr, err := New(context.Background(), Options{SampleRate: 1}, nil)
	if tr != nil || err != nil {
		t.Fatalf("New without an exporter = %v, %v; want nil, nil", tr, err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Traceparent", clientParent)
	r2, span := tr.StartRequest(r, "web")
	if r2 != r || span != nil {
		t.Fatal("a nil tracer made a span")
	}
	span.SetRoute("a", "b")
	span.CaptureResponseHeaders(http.Header{})
	span.End(200, 0, nil)
	if span.TraceID() != "" {
		t.Error("a nil span has a trace id")
	}
	a := tr.StartAttempt(r, "http://x", http.Header{})
	a.CaptureResponseHeaders(http.Header{})
	a.End(200, errors.New("x"))
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestNewRejects(t *testing.T) {
	ok := &OTLPHTTP{Endpoint: "http://127.0.0.1:4318/v1/traces"}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"both exporters", Options{HTTP: ok, GRPC: &OTLPGRPC{Endpoint: "127.0.0.1:4317"}}, "tracing: otlp: set http or grpc, not both"},
		{"rate above 1", Options{SampleRate: 1.5, HTTP: ok}, "tracing: sampleRate: 1.5 is not between 0 and 1"},
		{"rate below 0", Options{SampleRate: -0.1, HTTP: ok}, "tracing: sampleRate: -0.1 is not between 0 and 1"},
		{"http endpoint not a URL", Options{HTTP: &OTLPHTTP{Endpoint: "127.0.0.1:4318"}}, "tracing: otlp.http.endpoint: \"127.0.0.1:4318\" is not an http:// or https:// URL"},
		{"http endpoint secret redacted", Options{HTTP: &OTLPHTTP{Endpoint: "ftp://u:pw@h/x"}}, "tracing: otlp.http.endpoint: \"ftp://u:<redacted>@h/x\" is not an http:// or https:// URL"},
		{"tls on http://", Options{HTTP: &OTLPHTTP{Endpoint: "http://h:1/v1/traces", TLS: &tls.Config{}}}, "tracing: otlp.http: tls is set but the endpoint is http://"},
		{"grpc insecure and tls", Options{GRPC: &OTLPGRPC{Endpoint: "h:4317", Insecure: true, TLS: &tls.Config{}}}, "tracing: otlp.grpc: set insecure or tls, not both"},
		{"grpc endpoint not host:port", Options{GRPC: &OTLPGRPC{Endpoint: "http://h:4317"}}, "tracing: otlp.grpc.endpoint: \"http://h:4317\" is not host:port"},
		{"grpc port", Options{GRPC: &OTLPGRPC{Endpoint: "h:0"}}, "tracing: otlp.grpc.endpoint: \"h:0\": port \"0\" is not a number from 1 to 65535"},
		{"bad captured header", Options{HTTP: ok, CapturedRequestHeaders: []string{"X Bad"}}, "tracing: capturedRequestHeaders: [0]: \"X Bad\" is not a header name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(context.Background(), tc.opts, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = tr.Shutdown(context.Background())
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("New: %v, want %q", err, tc.want)
			}
		})
	}
}
