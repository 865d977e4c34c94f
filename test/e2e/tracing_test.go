package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/otlpreceiver"
)

// startTracedFerry starts a receiver and a Ferry exporting to it over
// OTLP/HTTP at sampleRate rate, with a JSON access log.
func startTracedFerry(t *testing.T, rate string, dynamic string) (*Ferry, *otlpreceiver.Receiver) {
	t.Helper()
	recv, err := otlpreceiver.StartHTTP(reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	f := StartFerry(t, Options{Dynamic: dynamic, Static: func(f *Ferry) string {
		return f.staticConfig(Options{AccessLogFormat: "json"}) + fmt.Sprintf(`tracing:
  serviceName: ferry-e2e
  sampleRate: %s
  capturedRequestHeaders: [X-Request-Id]
  otlp:
    http:
      endpoint: %q
      headers:
        X-Collector-Token: e2e-secret
`, rate, recv.Endpoint)
	}})
	return f, recv
}

// newTraceID returns 32 random hex digits.
func newTraceID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// traceSpans waits until the receiver has, for traceID, one SERVER span
// and clients CLIENT spans, and returns them.
func traceSpans(t *testing.T, recv *otlpreceiver.Receiver, traceID string, clients int) (otlpreceiver.Span, []otlpreceiver.Span) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var server []otlpreceiver.Span
	var client []otlpreceiver.Span
	_, err := recv.Wait(ctx, func(spans []otlpreceiver.Span) bool {
		server, client = server[:0], client[:0]
		for _, s := range spans {
			if s.TraceID != traceID {
				continue
			}
			switch s.Kind {
			case "SERVER":
				server = append(server, s)
			case "CLIENT":
				client = append(client, s)
			}
		}
		return len(server) == 1 && len(client) >= clients
	})
	if err != nil {
		t.Fatalf("trace %s: want 1 SERVER and %d CLIENT spans: %v; have %d and %d", traceID, clients, err, len(server), len(client))
	}
	return server[0], client
}

// upstreamSpanID returns the parent span id of the traceparent an upstream
// received, after checking its trace id.
func upstreamSpanID(t *testing.T, res *Result, traceID string) string {
	t.Helper()
	tp := res.Echo.Header("Traceparent")
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[1] != traceID {
		t.Fatalf("upstream received traceparent %q, want one of trace %s", tp, traceID)
	}
	return parts[2]
}

func TestTracingContinuesClientTrace(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	f, recv := startTracedFerry(t, "1.0", dyn(`
http:
  routers:
    traced:
      rule: "Host('trace.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL))
	f.WaitRoute("trace.test", "/", http.StatusOK, "a")
	traceID, clientSpan := newTraceID(t), "00f067aa0ba902b7"
	res, err := f.Do(http.MethodGet, "trace.test", "/traced/path", http.Header{
		"Traceparent":  {"00-" + traceID + "-" + clientSpan + "-01"},
		"Tracestate":   {"vendor=e2e"},
		"Baggage":      {"user=alice"},
		"X-Request-Id": {"req-1"},
	})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("GET: %v, status %v", err, res)
	}
	upstreamParent := upstreamSpanID(t, res, traceID)
	if res.Echo.Header("Tracestate") != "vendor=e2e" || res.Echo.Header("Baggage") != "user=alice" {
		t.Errorf("upstream received tracestate %q baggage %q, want them passed on", res.Echo.Header("Tracestate"), res.Echo.Header("Baggage"))
	}

	server, clients := traceSpans(t, recv, traceID, 1)
	if server.ParentSpanID != clientSpan {
		t.Errorf("server span's parent %q, want the client's span %s", server.ParentSpanID, clientSpan)
	}
	if server.Name != "GET traced@file" {
		t.Errorf("server span named %q, want \"GET traced@file\"", server.Name)
	}
	wantSpanAttrs(t, server, map[string]any{
		"http.request.method": "GET", "url.path": "/traced/path", "url.scheme": "http",
		"server.address": "trace.test", "client.address": "127.0.0.1", "network.protocol.version": "1.1",
		"http.response.status_code": int64(200), "ferry.entrypoint": "web", "ferry.router": "traced@file",
		"ferry.service": "a@file", "ferry.server.url": a.URL,
	})
	if got := server.Strings("http.request.header.x-request-id"); len(got) != 1 || got[0] != "req-1" {
		t.Errorf("captured X-Request-Id = %v, want [req-1]", got)
	}
	if server.Resource["service.name"] != "ferry-e2e" {
		t.Errorf("service.name %v, want ferry-e2e", server.Resource["service.name"])
	}
	if len(clients) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(clients))
	}
	c := clients[0]
	if c.ParentSpanID != server.SpanID {
		t.Errorf("attempt span's parent %q, want the request span %s", c.ParentSpanID, server.SpanID)
	}
	if c.SpanID != upstreamParent {
		t.Errorf("upstream's parent span %s, want the attempt span %s", upstreamParent, c.SpanID)
	}
	wantSpanAttrs(t, c, map[string]any{"http.response.status_code": int64(200), "ferry.server.url": a.URL,
		"url.full": a.URL + "/traced/path"})
	if h := recv.Headers(); len(h) == 0 || len(h[0]["x-collector-token"]) != 1 || h[0]["x-collector-token"][0] != "e2e-secret" {
		t.Errorf("exporter headers %v, want x-collector-token", h)
	}
	if strings.Contains(f.Logs(), "e2e-secret") {
		t.Error("the exporter's header value is in Ferry's log")
	}

	// The access log line of the request carries its trace id.
	line := waitAccessLog(t, f, func(e map[string]any) bool { return e["RequestPath"] == "/traced/path" })
	if line["TraceId"] != traceID {
		t.Errorf("access log TraceId = %v, want %s: %v", line["TraceId"], traceID, line)
	}
}

func TestTracingRetryHasTwoAttempts(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	refused := closedURL(t)
	f, recv := startTracedFerry(t, "1", dyn(`
http:
  routers:
    retried:
      rule: "Host('retry.trace.test')"
      service: svc
      middlewares: [retry]
  middlewares:
    retry:
      retry:
        attempts: 2
        initialInterval: 10ms
  services:
    svc:
      loadBalancer:
        servers:
          - url: "%s"
          - url: "%s"
`, refused, b.URL))
	f.WaitRoute("retry.trace.test", "/", http.StatusOK, "b")
	// Round robin over the two servers: of two requests, one meets the
	// refusing server first and is retried.
	for i := range 4 {
		traceID := newTraceID(t)
		res, err := f.Do(http.MethodGet, "retry.trace.test", "/retry", http.Header{
			"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("GET %d: %v %v", i, err, res)
		}
		// Attempt spans end before the request span, so they are exported
		// with it or before it: once it is here, all of them are.
		server, clients := traceSpans(t, recv, traceID, 1)
		if len(clients) == 1 {
			continue // not retried
		}
		if len(clients) != 2 {
			t.Fatalf("trace %s: %d attempt spans, want 2", traceID, len(clients))
		}
		first, second := clients[0], clients[1]
		if first.String("ferry.server.url") != refused {
			first, second = second, first
		}
		for _, c := range clients {
			if c.ParentSpanID != server.SpanID {
				t.Errorf("attempt to %s: parent %q, want the request span %s", c.String("ferry.server.url"), c.ParentSpanID, server.SpanID)
			}
		}
		if first.String("ferry.server.url") != refused || first.StatusCode != "ERROR" || first.String("error.type") == "" {
			t.Errorf("first attempt: server %s status %s error.type %q, want %s, ERROR, a type",
				first.String("ferry.server.url"), first.StatusCode, first.String("error.type"), refused)
		}
		if second.String("ferry.server.url") != b.URL || second.Int("http.response.status_code") != 200 ||
			second.Int("http.request.resend_count") != 1 {
			t.Errorf("second attempt: %v, want %s answering 200 with resend_count 1", second.Attributes, b.URL)
		}
		if got := upstreamSpanID(t, res, traceID); got != second.SpanID {
			t.Errorf("upstream's parent span %s, want the second attempt %s", got, second.SpanID)
		}
		if server.Int("http.response.status_code") != 200 || server.StatusCode != "UNSET" {
			t.Errorf("request span: status code %d, span status %s; want 200, UNSET", server.Int("http.response.status_code"), server.StatusCode)
		}
		return
	}
	t.Fatal("no request out of 4 was retried: the test does not test anything")
}

func TestTracingSampleRateZeroPassesTraceOn(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	f, recv := startTracedFerry(t, "0", dyn(`
http:
  routers:
    quiet:
      rule: "Host('quiet.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL))
	f.WaitRoute("quiet.test", "/", http.StatusOK, "a")
	tp := "00-" + newTraceID(t) + "-00f067aa0ba902b7-01"
	res, err := f.Do(http.MethodGet, "quiet.test", "/", http.Header{"Traceparent": {tp}, "Baggage": {"k=v"}})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("GET: %v %v", err, res)
	}
	if got := res.Echo.Header("Traceparent"); got != tp || res.Echo.Header("Baggage") != "k=v" {
		t.Errorf("upstream received traceparent %q baggage %q, want the client's unchanged", got, res.Echo.Header("Baggage"))
	}
	time.Sleep(2 * time.Second) // two export intervals
	if spans := recv.Spans(); len(spans) != 0 {
		t.Errorf("%d spans exported at sampleRate 0, want none", len(spans))
	}
}

// wantSpanAttrs checks attributes of span s.
func wantSpanAttrs(t *testing.T, s otlpreceiver.Span, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.Attributes[k]; !ok || got != v {
			t.Errorf("%s span %q: %s = %#v, want %#v", s.Kind, s.Name, k, got, v)
		}
	}
}

// waitAccessLog waits for a JSON access log line for which match holds.
func waitAccessLog(t *testing.T, f *Ferry, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		data, _ := os.ReadFile(f.AccessLogPath)
		for _, line := range strings.Split(string(data), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching access log line within %s:\n%s", waitTimeout, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
