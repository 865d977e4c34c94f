package tracing

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/test/otlpreceiver"
)

// Trace context sent by the "client" in these tests.
const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
	clientParent  = "00-" + clientTraceID + "-" + clientSpanID + "-01"
)

// waitSpans bounds every wait for exported spans.
const waitSpans = 10 * time.Second

// startReceiver starts an OTLP/HTTP receiver closed with the test.
func startReceiver(t *testing.T) *otlpreceiver.Receiver {
	t.Helper()
	r, err := otlpreceiver.StartHTTP("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// newTracer makes a tracer that exports every 20ms and is shut down with
// the test.
func newTracer(t *testing.T, opts Options, log *zap.Logger) *Tracer {
	t.Helper()
	if opts.batchTimeout == 0 {
		opts.batchTimeout = 20 * time.Millisecond
	}
	tr, err := New(context.Background(), opts, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr
}

// upstream is a server that answers with the trace headers it received.
type upstream struct {
	URL string
}

type seen struct {
	Traceparent, Tracestate, Baggage string
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		if strings.HasPrefix(r.URL.Path, "/status/") {
			switch r.URL.Path {
			case "/status/404":
				w.WriteHeader(http.StatusNotFound)
			case "/status/503":
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}
		_ = json.NewEncoder(w).Encode(seen{r.Header.Get("Traceparent"), r.Header.Get("Tracestate"), r.Header.Get("Baggage")})
	}))
	t.Cleanup(srv.Close)
	return &upstream{URL: srv.URL}
}

// closedURL is an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// proxy is Ferry's request path in miniature, wired as the router is: a
// request span at the entry point, routed to router app@file and service
// svc@file, then one attempt per server in order until one answers.
func proxy(tr *Tracer, servers ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, span := tr.StartRequest(r, "web")
		span.SetRoute("app@file", "svc@file")
		var lastErr error
		for _, srv := range servers {
			out, err := http.NewRequestWithContext(r.Context(), r.Method, srv+r.URL.RequestURI(), nil)
			if err != nil {
				panic(err)
			}
			out.Header = r.Header.Clone()
			a := tr.StartAttempt(r, srv, out.Header)
			resp, err := http.DefaultTransport.RoundTrip(out)
			if err != nil {
				a.End(0, err)
				lastErr = err
				continue
			}
			a.CaptureResponseHeaders(resp.Header)
			a.End(resp.StatusCode, nil)
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.Header().Set("X-Trace-Id", span.TraceID())
			w.WriteHeader(resp.StatusCode)
			n, _ := io.Copy(w, resp.Body)
			resp.Body.Close()
			span.CaptureResponseHeaders(w.Header())
			span.End(resp.StatusCode, n, nil)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		span.End(http.StatusBadGateway, 0, lastErr)
	})
}

// send sends GET path through h with headers hdr and returns the answer's
// status, what the upstream saw and the X-Trace-Id header.
func send(t *testing.T, h http.Handler, path string, hdr map[string]string) (int, seen, string) {
	t.Helper()
	front := httptest.NewServer(h)
	defer front.Close()
	req, err := http.NewRequest(http.MethodGet, front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "tracing-test/1")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s seen
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return resp.StatusCode, s, resp.Header.Get("X-Trace-Id")
}

// waitCount waits until n spans of trace traceID arrived.
func waitCount(t *testing.T, r *otlpreceiver.Receiver, traceID string, n int) []otlpreceiver.Span {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitSpans)
	defer cancel()
	var out []otlpreceiver.Span
	_, err := r.Wait(ctx, func(spans []otlpreceiver.Span) bool {
		out = out[:0]
		for _, s := range spans {
			if traceID == "" || s.TraceID == traceID {
				out = append(out, s)
			}
		}
		return len(out) >= n
	})
	if err != nil {
		t.Fatalf("waiting for %d spans of trace %q: %v (have %+v)", n, traceID, err, out)
	}
	return out
}

// byKind splits spans into the SERVER span and the CLIENT spans.
func byKind(t *testing.T, spans []otlpreceiver.Span) (otlpreceiver.Span, []otlpreceiver.Span) {
	t.Helper()
	var server []otlpreceiver.Span
	var clients []otlpreceiver.Span
	for _, s := range spans {
		switch s.Kind {
		case "SERVER":
			server = append(server, s)
		case "CLIENT":
			clients = append(clients, s)
		default:
			t.Errorf("span %q of kind %s", s.Name, s.Kind)
		}
	}
	if len(server) != 1 {
		t.Fatalf("%d SERVER spans, want 1: %+v", len(server), spans)
	}
	return server[0], clients
}

// wantAttrs checks attributes of span s.
func wantAttrs(t *testing.T, s otlpreceiver.Span, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := s.Attributes[k]
		switch {
		case v == nil && ok:
			t.Errorf("%s span %q: attribute %s = %v, want none", s.Kind, s.Name, k, got)
		case v != nil && !ok:
			t.Errorf("%s span %q: no attribute %s (have %v)", s.Kind, s.Name, k, s.Attributes)
		case v != nil && !equalAttr(got, v):
			t.Errorf("%s span %q: attribute %s = %#v, want %#v", s.Kind, s.Name, k, got, v)
		}
	}
}

func equalAttr(got, want any) bool {
	if w, ok := want.([]string); ok {
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if g[i] != w[i] {
				return false
			}
		}
		return true
	}
	if w, ok := want.(int); ok {
		want = int64(w)
	}
	return got == want
}

// exporterLogs returns the tracer's warn and info lines about its exporter.
func exporterLogs(logs *observer.ObservedLogs) (failed, recovered int) {
	for _, e := range logs.All() {
		switch e.Message {
		case "trace exporter failed: spans are dropped until it recovers":
			failed++
		case "trace exporter recovered":
			recovered++
		}
	}
	return failed, recovered
}

// waitExports waits until n export requests arrived at r.
func waitExports(t *testing.T, r *otlpreceiver.Receiver, n int) {
	t.Helper()
	deadline := time.Now().Add(waitSpans)
	for r.Exports() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d exports, want %d", r.Exports(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
