// Package otlpreceiver is an OpenTelemetry collector's trace receiver for
// tests: it listens on loopback for OTLP/HTTP (protobuf, optionally
// gzipped) or OTLP/gRPC, decodes the real ExportTraceServiceRequest
// payloads with go.opentelemetry.io/proto/otlp, and keeps every span it
// received, with its resource, for the test to inspect. It can be told to
// fail (HTTP 503, gRPC Unavailable) to test exporters under an outage.
package otlpreceiver

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxBody bounds one OTLP/HTTP request body.
const maxBody = 16 << 20

// Span is one received span, decoded.
type Span struct {
	// TraceID, SpanID and ParentSpanID are lower-case hex; ParentSpanID is
	// "" for a root span.
	TraceID, SpanID, ParentSpanID string
	// TraceState is the W3C tracestate of the span.
	TraceState string
	// Name is the span name.
	Name string
	// Kind is SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER.
	Kind string
	// Attributes are the span's attributes: string, bool, int64, float64,
	// []byte, []any (arrays) or map[string]any (key-value lists).
	Attributes map[string]any
	// StatusCode is UNSET, OK or ERROR; StatusMessage its description.
	StatusCode, StatusMessage string
	// Resource holds the attributes of the span's resource.
	Resource map[string]any
	// Scope is the instrumentation scope name.
	Scope string
	// Start and End are the span's times.
	Start, End time.Time
}

// String returns the string attribute key, "" when absent or not a string.
func (s Span) String(key string) string {
	v, _ := s.Attributes[key].(string)
	return v
}

// Int returns the integer attribute key, 0 when absent or not an integer.
func (s Span) Int(key string) int64 {
	v, _ := s.Attributes[key].(int64)
	return v
}

// Strings returns the string array attribute key, nil when absent.
func (s Span) Strings(key string) []string {
	list, ok := s.Attributes[key].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		str, _ := v.(string)
		out = append(out, str)
	}
	return out
}

// Receiver is a running OTLP trace receiver.
type Receiver struct {
	// Endpoint is what an exporter is pointed at: the URL of /v1/traces for
	// OTLP/HTTP, host:port for OTLP/gRPC.
	Endpoint string

	failing atomic.Bool
	closeFn func()

	mu      sync.Mutex
	spans   []Span
	exports int
	headers []map[string][]string // of each export: HTTP headers or gRPC metadata
	changed chan struct{}         // closed and replaced when something arrives
}

func newReceiver() *Receiver { return &Receiver{changed: make(chan struct{})} }

// StartHTTP starts an OTLP/HTTP receiver serving POST /v1/traces on addr,
// a loopback host:port; "" picks a free port on 127.0.0.1.
func StartHTTP(addr string) (*Receiver, error) {
	ln, err := listen(addr)
	if err != nil {
		return nil, fmt.Errorf("otlpreceiver: listen: %w", err)
	}
	r := newReceiver()
	r.Endpoint = "http://" + ln.Addr().String() + "/v1/traces"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveHTTP)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r.closeFn = func() { _ = srv.Close() }
	return r, nil
}

// StartGRPC starts an OTLP/gRPC receiver (plain text) on addr, a
// loopback host:port; "" picks a free port on 127.0.0.1.
func StartGRPC(addr string) (*Receiver, error) {
	ln, err := listen(addr)
	if err != nil {
		return nil, fmt.Errorf("otlpreceiver: listen: %w", err)
	}
	r := newReceiver()
	r.Endpoint = ln.Addr().String()
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, &traceService{r: r})
	go func() { _ = srv.Serve(ln) }()
	r.closeFn = srv.Stop
	return r, nil
}

// listen listens on addr, which must be a loopback address.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s is not a loopback address", addr)
	}
	return net.Listen("tcp", addr)
}

// Close stops the receiver.
func (r *Receiver) Close() { r.closeFn() }

// SetFailing makes every export fail (HTTP 503, gRPC Unavailable) until
// called with false. Failed exports are counted but their spans dropped.
func (r *Receiver) SetFailing(fail bool) { r.failing.Store(fail) }

// Spans returns every span received so far, in order of arrival.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports returns how many export requests arrived (failed ones too).
func (r *Receiver) Exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exports
}

// Headers returns the HTTP headers (lower-case names) or gRPC metadata of
// each export request received.
func (r *Receiver) Headers() []map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string][]string(nil), r.headers...)
}

// Wait returns the spans received once cond holds for them, or an error
// naming what was received when ctx ends first.
func (r *Receiver) Wait(ctx context.Context, cond func([]Span) bool) ([]Span, error) {
	for {
		r.mu.Lock()
		spans, changed := append([]Span(nil), r.spans...), r.changed
		r.mu.Unlock()
		if cond(spans) {
			return spans, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return spans, fmt.Errorf("otlpreceiver: %d spans received, condition not met: %w", len(spans), ctx.Err())
		}
	}
}

// record keeps one export request's spans and headers.
func (r *Receiver) record(req *coltracepb.ExportTraceServiceRequest, headers map[string][]string, accepted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	r.headers = append(r.headers, headers)
	if accepted {
		r.spans = append(r.spans, decode(req)...)
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "want application/x-protobuf, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &msg); err != nil {
		http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
		return
	}
	headers := map[string][]string{}
	for k, v := range req.Header {
		headers[strings.ToLower(k)] = v
	}
	fail := r.failing.Load()
	r.record(&msg, headers, !fail)
	if fail {
		http.Error(w, "receiver told to fail", http.StatusServiceUnavailable)
		return
	}
	out, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// traceService is the gRPC TraceService.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

// Export implements coltracepb.TraceServiceServer.
func (s *traceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	fail := s.r.failing.Load()
	s.r.record(req, md, !fail)
	if fail {
		return nil, status.Error(grpccodes.Unavailable, "receiver told to fail")
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// decode flattens an export request into spans.
func decode(req *coltracepb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s := Span{
					TraceID:       hex.EncodeToString(sp.GetTraceId()),
					SpanID:        hex.EncodeToString(sp.GetSpanId()),
					TraceState:    sp.GetTraceState(),
					Name:          sp.GetName(),
					Kind:          kindName(sp.GetKind()),
					Attributes:    attributes(sp.GetAttributes()),
					StatusCode:    statusName(sp.GetStatus().GetCode()),
					StatusMessage: sp.GetStatus().GetMessage(),
					Resource:      res,
					Scope:         ss.GetScope().GetName(),
					Start:         time.Unix(0, int64(sp.GetStartTimeUnixNano())), //nolint:gosec // nanoseconds since 1970 fit
					End:           time.Unix(0, int64(sp.GetEndTimeUnixNano())),   //nolint:gosec // likewise
				}
				if p := sp.GetParentSpanId(); len(p) > 0 {
					s.ParentSpanID = hex.EncodeToString(p)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func attributes(kvs []*commonpb.KeyValue) map[string]any {
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		out[kv.GetKey()] = value(kv.GetValue())
	}
	return out
}

func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		list := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			list = append(list, value(e))
		}
		return list
	case *commonpb.AnyValue_KvlistValue:
		return attributes(x.KvlistValue.GetValues())
	}
	return nil
}

func kindName(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_SERVER:
		return "SERVER"
	case tracepb.Span_SPAN_KIND_CLIENT:
		return "CLIENT"
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return "INTERNAL"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return "PRODUCER"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return "CONSUMER"
	}
	return "UNSPECIFIED"
}

func statusName(c tracepb.Status_StatusCode) string {
	switch c {
	case tracepb.Status_STATUS_CODE_OK:
		return "OK"
	case tracepb.Status_STATUS_CODE_ERROR:
		return "ERROR"
	}
	return "UNSET"
}

// ErrNoSpan is returned by Find when no span matches.
var ErrNoSpan = errors.New("otlpreceiver: no such span")

// Find returns the first span of spans for which match holds.
func Find(spans []Span, match func(Span) bool) (Span, error) {
	for _, s := range spans {
		if match(s) {
			return s, nil
		}
	}
	return Span{}, ErrNoSpan
}
