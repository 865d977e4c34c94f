package tracing

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestContinuesClientTrace(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{ServiceName: "edge", SampleRate: 1,
		ResourceAttributes: map[string]string{"deployment.environment.name": "test"},
		HTTP:               &OTLPHTTP{Endpoint: recv.Endpoint, Headers: map[string]string{"X-Tenant": "acme"}}}, nil)
	status, got, traceID := send(t, proxy(tr, up.URL), "/items/7?token=s3cret&page=2", map[string]string{
		"Traceparent": clientParent, "Tracestate": "vendor=x", "Baggage": "user=alice"})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if traceID != clientTraceID {
		t.Errorf("TraceID() = %q, want the client's %s", traceID, clientTraceID)
	}
	server, clients := byKind(t, waitCount(t, recv, clientTraceID, 2))
	if server.ParentSpanID != clientSpanID {
		t.Errorf("server span's parent = %q, want the client's span %s", server.ParentSpanID, clientSpanID)
	}
	if server.Name != "GET app@file" || server.StatusCode != "UNSET" {
		t.Errorf("server span %q status %s, want \"GET app@file\" UNSET", server.Name, server.StatusCode)
	}
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	wantAttrs(t, server, map[string]any{
		"http.request.method": "GET", "url.path": "/items/7", "url.scheme": "http",
		"url.query": "token=<redacted>&page=2", "server.address": "127.0.0.1", "client.address": "127.0.0.1",
		"user_agent.original": "tracing-test/1", "network.protocol.version": "1.1",
		"http.response.status_code": 200, "ferry.entrypoint": "web", "ferry.router": "app@file",
		"ferry.service": "svc@file", "ferry.server.url": up.URL, "error.type": nil,
	})
	if server.Int("server.port") == 0 || server.Int("http.response.body.size") == 0 {
		t.Errorf("server span: server.port %d, http.response.body.size %d, want both set",
			server.Int("server.port"), server.Int("http.response.body.size"))
	}
	if server.Resource["service.name"] != "edge" || server.Resource["deployment.environment.name"] != "test" {
		t.Errorf("resource %v, want service.name edge and deployment.environment.name test", server.Resource)
	}
	if len(clients) != 1 {
		t.Fatalf("%d CLIENT spans, want 1", len(clients))
	}
	c := clients[0]
	if c.ParentSpanID != server.SpanID || c.Name != "GET" || c.TraceState != "vendor=x" {
		t.Errorf("client span %q parent %q tracestate %q, want \"GET\" under %s with vendor=x", c.Name, c.ParentSpanID, c.TraceState, server.SpanID)
	}
	wantAttrs(t, c, map[string]any{
		"http.request.method": "GET", "server.address": host, "url.full": up.URL + "/items/7",
		"http.response.status_code": 200, "ferry.server.url": up.URL, "http.request.resend_count": nil,
	})
	if p := c.Int("server.port"); net.JoinHostPort(host, strconv.FormatInt(p, 10)) != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("client span server.port %d, want the port of %s", p, up.URL)
	}
	if want := "00-" + clientTraceID + "-" + c.SpanID + "-01"; got.Traceparent != want {
		t.Errorf("upstream got traceparent %q, want %q (the attempt span's)", got.Traceparent, want)
	}
	if got.Tracestate != "vendor=x" || got.Baggage != "user=alice" {
		t.Errorf("upstream got tracestate %q baggage %q, want them passed on", got.Tracestate, got.Baggage)
	}
	if h := recv.Headers(); len(h) == 0 || len(h[0]["x-tenant"]) != 1 || h[0]["x-tenant"][0] != "acme" {
		t.Errorf("exporter headers %v, want x-tenant: acme", h)
	}
}

func TestStartsTrace(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}}, nil)
	_, got, traceID := send(t, proxy(tr, up.URL), "/", nil)
	if len(traceID) != 32 {
		t.Fatalf("TraceID() = %q, want 32 hex digits", traceID)
	}
	server, clients := byKind(t, waitCount(t, recv, traceID, 2))
	if server.ParentSpanID != "" {
		t.Errorf("server span has parent %q, want a root span", server.ParentSpanID)
	}
	if server.Resource["service.name"] != DefaultServiceName {
		t.Errorf("service.name %v, want %s", server.Resource["service.name"], DefaultServiceName)
	}
	if want := "00-" + traceID + "-" + clients[0].SpanID + "-01"; got.Traceparent != want {
		t.Errorf("upstream got traceparent %q, want %q", got.Traceparent, want)
	}
}

func TestRetryMakesTwoAttempts(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}}, nil)
	refused := closedURL(t)
	status, got, _ := send(t, proxy(tr, refused, up.URL), "/retry", map[string]string{"Traceparent": clientParent})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	server, clients := byKind(t, waitCount(t, recv, clientTraceID, 3))
	if len(clients) != 2 {
		t.Fatalf("%d CLIENT spans, want 2 (one per attempt)", len(clients))
	}
	first, second := clients[0], clients[1]
	if first.Attributes["ferry.server.url"] != refused {
		first, second = second, first
	}
	for _, c := range clients {
		if c.ParentSpanID != server.SpanID {
			t.Errorf("attempt to %s has parent %q, want the request span %s", c.String("ferry.server.url"), c.ParentSpanID, server.SpanID)
		}
	}
	if first.StatusCode != "ERROR" || first.String("error.type") == "" {
		t.Errorf("refused attempt: status %s error.type %q, want ERROR with a type", first.StatusCode, first.String("error.type"))
	}
	wantAttrs(t, first, map[string]any{"http.response.status_code": nil, "http.request.resend_count": nil})
	wantAttrs(t, second, map[string]any{"http.response.status_code": 200, "http.request.resend_count": 1})
	if second.StatusCode != "UNSET" {
		t.Errorf("second attempt status %s, want UNSET", second.StatusCode)
	}
	wantAttrs(t, server, map[string]any{"ferry.server.url": up.URL, "http.response.status_code": 200})
	if !strings.Contains(got.Traceparent, second.SpanID) {
		t.Errorf("upstream got traceparent %q, want the second attempt's span %s", got.Traceparent, second.SpanID)
	}
}

func TestStatusOfSpans(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}}, nil)
	tests := []struct {
		path, server, client, errorType string
	}{
		{"/status/404", "UNSET", "ERROR", "404"},
		{"/status/503", "ERROR", "ERROR", "503"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			_, _, traceID := send(t, proxy(tr, up.URL), tc.path, nil)
			server, clients := byKind(t, waitCount(t, recv, traceID, 2))
			if server.StatusCode != tc.server || clients[0].StatusCode != tc.client {
				t.Errorf("server span %s, client span %s; want %s, %s", server.StatusCode, clients[0].StatusCode, tc.server, tc.client)
			}
			if clients[0].String("error.type") != tc.errorType {
				t.Errorf("client error.type %q, want %q", clients[0].String("error.type"), tc.errorType)
			}
			if tc.server == "ERROR" && server.String("error.type") != tc.errorType {
				t.Errorf("server error.type %q, want %q", server.String("error.type"), tc.errorType)
			}
		})
	}
	t.Run("no server answers", func(t *testing.T) {
		_, _, _ = send(t, proxy(tr, closedURL(t)), "/down", map[string]string{"Traceparent": "00-" + strings.Repeat("ab", 16) + "-" + clientSpanID + "-01"})
		server, _ := byKind(t, waitCount(t, recv, strings.Repeat("ab", 16), 2))
		if server.StatusCode != "ERROR" || server.Int("http.response.status_code") != 502 || server.String("error.type") == "" {
			t.Errorf("server span %s status code %d error.type %q, want ERROR 502 with a type", server.StatusCode,
				server.Int("http.response.status_code"), server.String("error.type"))
		}
	})
}

func TestCapturedHeaders(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint},
		CapturedRequestHeaders:  []string{"X-Request-Id", "authorization", "X-Absent"},
		CapturedResponseHeaders: []string{"X-Upstream"}}, nil)
	_, _, traceID := send(t, proxy(tr, up.URL), "/", map[string]string{"X-Request-Id": "r-1", "Authorization": "Bearer abc"})
	server, clients := byKind(t, waitCount(t, recv, traceID, 2))
	want := map[string]any{
		"http.request.header.x-request-id":  []string{"r-1"},
		"http.request.header.authorization": []string{"<redacted>"},
		"http.request.header.x-absent":      nil,
		"http.response.header.x-upstream":   []string{"yes"},
	}
	wantAttrs(t, server, want)
	wantAttrs(t, clients[0], want)
}

func TestNotSampledPassesContextThrough(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		headers map[string]string
	}{
		{"sampleRate 0", 0, map[string]string{"Traceparent": clientParent, "Tracestate": "vendor=x", "Baggage": "user=alice"}},
		{"parent not sampled", 1, map[string]string{"Traceparent": "00-" + clientTraceID + "-" + clientSpanID + "-00", "Baggage": "user=bob"}},
		{"ratio says no", 0.5, map[string]string{"Traceparent": "00-0000000000000000ffffffffffffffff-" + clientSpanID + "-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv := startReceiver(t)
			up := startUpstream(t)
			tr := newTracer(t, Options{SampleRate: tc.rate, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}}, nil)
			status, got, traceID := send(t, proxy(tr, up.URL), "/", tc.headers)
			if status != http.StatusOK || traceID != "" {
				t.Errorf("status %d TraceID %q, want 200 and no trace id", status, traceID)
			}
			if got.Traceparent != tc.headers["Traceparent"] || got.Tracestate != tc.headers["Tracestate"] || got.Baggage != tc.headers["Baggage"] {
				t.Errorf("upstream got %+v, want the client's headers unchanged: %v", got, tc.headers)
			}
			// Passing through also fills headers built from scratch.
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			r2, span := tr.StartRequest(r, "web")
			out := http.Header{}
			if a := tr.StartAttempt(r2, "http://127.0.0.1:1", out); a != nil || span != nil || r2 != r {
				t.Errorf("not sampled: got span %v, attempt %v, new request %v; want none", span, a, r2 != r)
			}
			if out.Get("Traceparent") != tc.headers["Traceparent"] {
				t.Errorf("out traceparent %q, want %q", out.Get("Traceparent"), tc.headers["Traceparent"])
			}
			time.Sleep(100 * time.Millisecond) // five export intervals
			if n := len(recv.Spans()); n != 0 {
				t.Errorf("%d spans exported, want none", n)
			}
		})
	}
}

func TestRatioSampling(t *testing.T) {
	tr := &Tracer{rate: 0.5, bound: ratioBound(0.5)}
	tests := []struct {
		traceparent string
		want        bool
	}{
		{"00-ffffffffffffffff0000000000000001-" + clientSpanID + "-01", true},
		{"00-00000000000000017fffffffffffffff-" + clientSpanID + "-01", true},
		{"00-00000000000000018000000000000000-" + clientSpanID + "-01", false},
		{"00-0000000000000001ffffffffffffffff-" + clientSpanID + "-01", false},
		{"00-0000000000000001000000000000000f-" + clientSpanID + "-00", false},
	}
	for _, tc := range tests {
		if got := tr.sample(http.Header{"Traceparent": {tc.traceparent}}); got != tc.want {
			t.Errorf("sample(%s) = %v, want %v", tc.traceparent, got, tc.want)
		}
	}
	// Without a parent, about half the requests start a trace.
	n := 0
	for range 10000 {
		if tr.sample(http.Header{}) {
			n++
		}
	}
	if n < 4000 || n > 6000 {
		t.Errorf("%d of 10000 root requests sampled at 0.5", n)
	}
}

func TestServerURLRedacted(t *testing.T) {
	recv := startReceiver(t)
	up := startUpstream(t)
	tr := newTracer(t, Options{SampleRate: 1, HTTP: &OTLPHTTP{Endpoint: recv.Endpoint}}, nil)
	withPassword := strings.Replace(up.URL, "http://", "http://user:hunter2@", 1)
	_, _, traceID := send(t, proxy(tr, withPassword), "/x", nil)
	server, clients := byKind(t, waitCount(t, recv, traceID, 2))
	redacted := strings.Replace(up.URL, "http://", "http://user:<redacted>@", 1)
	wantAttrs(t, server, map[string]any{"ferry.server.url": redacted})
	wantAttrs(t, clients[0], map[string]any{"ferry.server.url": redacted, "url.full": redacted + "/x"})
}
