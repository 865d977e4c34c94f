package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

func ptr[T any](v T) *T { return &v }

func slice(name string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{Ports: ports, Endpoints: eps}
	s.Name, s.Namespace = name, "default"
	s.Labels = map[string]string{discoveryv1.LabelServiceName: "web"}
	return s
}

func ep(addr string, ready, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready, Terminating: terminating}}
}

func TestReadyEndpoints(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	http := []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}, {Name: ptr("metrics"), Port: ptr(int32(9090))}}
	unnamed := []discoveryv1.EndpointPort{{Port: ptr(int32(80))}}
	tests := []struct {
		name   string
		slices []*discoveryv1.EndpointSlice
		port   string
		want   []string
	}{
		{"ready, unknown, not ready, terminating", []*discoveryv1.EndpointSlice{slice("a", http,
			ep("10.0.0.1", yes, nil), ep("10.0.0.2", nil, nil), ep("10.0.0.3", no, nil), ep("10.0.0.4", yes, yes), ep("10.0.0.5", no, yes))},
			"http", []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		{"other port name", []*discoveryv1.EndpointSlice{slice("a", http, ep("10.0.0.1", yes, nil))}, "metrics", []string{"10.0.0.1:9090"}},
		{"port not in slice", []*discoveryv1.EndpointSlice{slice("a", http, ep("10.0.0.1", yes, nil))}, "", nil},
		{"unnamed", []*discoveryv1.EndpointSlice{slice("a", unnamed, ep("10.0.0.1", yes, nil))}, "", []string{"10.0.0.1:80"}},
		{"duplicates across slices, sorted", []*discoveryv1.EndpointSlice{
			slice("a", unnamed, ep("10.0.0.9", yes, nil), ep("10.0.0.1", yes, nil)),
			slice("b", unnamed, ep("10.0.0.1", yes, nil))}, "", []string{"10.0.0.1:80", "10.0.0.9:80"}},
		{"IPv6", []*discoveryv1.EndpointSlice{slice("a", unnamed, ep("fd00::1", yes, nil))}, "", []string{"[fd00::1]:80"}},
		{"none", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReadyEndpoints(tt.slices, tt.port); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEndpointSlicesOfIndex(t *testing.T) {
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &discoveryv1.EndpointSlice{}, 0, cache.Indexers{})
	if err := IndexEndpointSlicesByService(inf); err != nil {
		t.Fatal(err)
	}
	a, b := slice("web-1", nil), slice("web-2", nil)
	other := slice("api-1", nil)
	other.Labels[discoveryv1.LabelServiceName] = "api"
	for _, s := range []*discoveryv1.EndpointSlice{a, b, other} {
		if err := inf.GetIndexer().Add(s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := EndpointSlicesOf(inf.GetIndexer(), "default", "web")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d slices (%v), want 2", len(got), err)
	}
	if got, _ := EndpointSlicesOf(inf.GetIndexer(), "other", "web"); len(got) != 0 {
		t.Errorf("slices of another namespace returned: %v", got)
	}
}

func TestWatchedNamespacesAndSelector(t *testing.T) {
	if got := WatchedNamespaces(nil); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("no namespaces: %v", got)
	}
	if got := WatchedNamespaces([]string{"b", "a", "b"}); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("sorted unique: %v", got)
	}
	if got := WatchedNamespaces([]string{"a", ""}); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf(`"" means all: %v`, got)
	}
	if tw, err := LabelSelector(""); tw != nil || err != nil {
		t.Errorf("empty selector: tweak %t, error %v", tw != nil, err)
	}
	tw, err := LabelSelector("app=web, tier notin (db)")
	if err != nil {
		t.Fatal(err)
	}
	var o metav1.ListOptions
	tw(&o)
	if o.LabelSelector != "app=web,tier notin (db)" {
		t.Errorf("selector applied: %q", o.LabelSelector)
	}
	if _, err := LabelSelector("app in (a"); err == nil {
		t.Errorf("bad selector accepted")
	}
}

func TestRESTConfig(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", "")
	log := zap.NewNop()
	if _, err := RESTConfig(ClientOptions{}, log, "ferry/test"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("nothing configured: %v, want ErrNoEndpoint", err)
	}
	cfg, err := RESTConfig(ClientOptions{Endpoint: "https://192.0.2.1:6443", Token: "abc"}, log, "ferry/test")
	if err != nil || cfg.Host != "https://192.0.2.1:6443" || cfg.BearerToken != "abc" || cfg.UserAgent != "ferry/test" {
		t.Errorf("endpoint and token: %+v %v", cfg, err)
	}
	if _, err := RESTConfig(ClientOptions{Endpoint: "192.0.2.1:6443"}, log, "x"); err == nil {
		t.Errorf("endpoint without scheme accepted")
	}
	if _, err := RESTConfig(ClientOptions{Endpoint: "https://h", CertAuthFilePath: "/nonexistent/ca.crt"}, log, "x"); err == nil {
		t.Errorf("missing CA file accepted")
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://192.0.2.2:6443"}}]
users: [{name: u, user: {token: from-file}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	cfg, err = RESTConfig(ClientOptions{Token: "override"}, log, "x")
	if err != nil || cfg.Host != "https://192.0.2.2:6443" || cfg.BearerToken != "override" {
		t.Errorf("KUBECONFIG with a token override: %+v %v", cfg, err)
	}
}

// recordingWrites is a status write target that counts writes and fails on demand.
type recordingWrites struct {
	mu     sync.Mutex
	writes []string
	fail   int // the next fail writes fail
}

func (r *recordingWrites) write(key, value string) func(context.Context) error {
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			return apierrors.NewConflict(schema.GroupResource{Resource: "ingresses"}, key, errors.New("changed"))
		}
		r.writes = append(r.writes, key+"="+value)
		return nil
	}
}

func (r *recordingWrites) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatusWriter(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	w := NewStatusWriter(zap.New(core), 1000, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	rec := &recordingWrites{}
	lb := func(ip string) networkingv1.IngressLoadBalancerStatus {
		return networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: ip}}}
	}
	empty := networkingv1.IngressLoadBalancerStatus{}

	// Equal: nothing is written.
	w.Set("a", StatusUpdate{Current: lb("192.0.2.1"), Want: lb("192.0.2.1"), Write: rec.write("a", "1")})
	// Different: written once, even when asked again before the cache catches up.
	w.Set("b", StatusUpdate{Current: empty, Want: lb("192.0.2.1"), Write: rec.write("b", "1")})
	waitFor(t, "the write of b", func() bool { return len(rec.get()) == 1 })
	w.Set("b", StatusUpdate{Current: empty, Want: lb("192.0.2.1"), Write: rec.write("b", "1")})
	// The cache caught up; then another change is written.
	w.Set("b", StatusUpdate{Current: lb("192.0.2.1"), Want: lb("192.0.2.1"), Write: rec.write("b", "1")})
	w.Set("b", StatusUpdate{Current: lb("192.0.2.1"), Want: lb("192.0.2.2"), Write: rec.write("b", "2")})
	waitFor(t, "the second write of b", func() bool { return len(rec.get()) == 2 })
	// A failing write is retried; the newest wish wins.
	rec.mu.Lock()
	rec.fail = 2
	rec.mu.Unlock()
	w.Set("c", StatusUpdate{Current: empty, Want: lb("192.0.2.3"), Write: rec.write("c", "3")})
	waitFor(t, "the retried write of c", func() bool { return len(rec.get()) == 3 })
	want := []string{"b=1", "b=2", "c=3"}
	if got := rec.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("writes: got %v, want %v", got, want)
	}
	if n := logs.FilterMessageSnippet("status write failed").Len(); n == 0 {
		t.Errorf("failed writes were not logged")
	}
	// Someone else changed the status after Ferry wrote it: written again.
	w.Set("b", StatusUpdate{Current: lb("198.51.100.9"), Want: lb("192.0.2.2"), Write: rec.write("b", "2 again")})
	waitFor(t, "the rewrite of b", func() bool { return len(rec.get()) == 4 })
}

func TestLogWatchErrors(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	logErr := watchErrorLogger(zap.New(core), "secrets")
	forbidden := fmt.Errorf("failed to list *v1.Secret: %w", apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "",
		errors.New(`User "system:serviceaccount:ferry:ferry" cannot list resource "secrets" in API group "" at the cluster scope`)))
	logErr(forbidden)
	logErr(forbidden) // the same again: debug only
	logErr(errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"))
	logErr(io.EOF)
	got := logs.AllUntimed()
	if len(got) != 3 {
		t.Fatalf("got %d log entries, want 3: %v", len(got), got)
	}
	if got[0].Level != zap.ErrorLevel || !strings.Contains(got[0].Message, "not allowed to list/watch secrets") ||
		!strings.Contains(got[0].ContextMap()["error"].(string), `cannot list resource "secrets"`) {
		t.Errorf("forbidden: %v %q %v", got[0].Level, got[0].Message, got[0].ContextMap())
	}
	if got[1].Level != zap.DebugLevel {
		t.Errorf("repeat logged at %v", got[1].Level)
	}
	if got[2].Level != zap.WarnLevel || !strings.Contains(got[2].Message, "the last routes keep serving") {
		t.Errorf("outage: %v %q", got[2].Level, got[2].Message)
	}
}

func TestReachability(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 && r.Method == http.MethodGet {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	r := &reachability{log: zap.New(core), endpoint: srv.URL}
	rt := r.wrap(http.DefaultTransport)
	do := func(ctx context.Context, method, url string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, method, url, nil)
		return rt.RoundTrip(req)
	}

	// A read is retried through 503 answers.
	resp, err := do(context.Background(), http.MethodGet, srv.URL)
	if err != nil || resp.StatusCode != http.StatusOK || calls.Load() != 3 {
		t.Fatalf("GET through two 503s: %v %v after %d calls", resp, err, calls.Load())
	}
	resp.Body.Close()
	// A write is not.
	calls.Store(0)
	if resp, err := do(context.Background(), http.MethodPut, srv.URL); err != nil || calls.Load() != 1 {
		t.Fatalf("PUT: %v after %d calls", err, calls.Load())
	} else {
		resp.Body.Close()
	}
	// A read of an unreachable server is retried until its context ends,
	// logging the outage once; the next success logs the return.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := do(ctx, http.MethodGet, gone); err == nil {
		t.Fatalf("GET of a closed port succeeded")
	}
	if n := logs.FilterMessageSnippet("API server unreachable").Len(); n != 1 {
		t.Errorf("outage logged %d times, want 1", n)
	}
	resp, err = do(context.Background(), http.MethodGet, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := logs.FilterMessageSnippet("reachable again").Len(); n != 1 {
		t.Errorf("return logged %d times, want 1", n)
	}
}

func TestWithLogger(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := klog.FromContext(WithLogger(context.Background(), zap.New(core)))
	l = l.WithValues("reflector", "a", "msg", "shadow")
	l.Info("started", "reflector", "b")
	l.V(4).Info("chatty")
	l.Error(errors.New("boom"), "failed")
	got := logs.AllUntimed()
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2 (V(4) dropped): %v", len(got), got)
	}
	if got[0].Level != zap.DebugLevel || got[0].Message != "client-go: started" {
		t.Errorf("info: %v %q", got[0].Level, got[0].Message)
	}
	k8s, _ := got[0].ContextMap()["k8s"].(map[string]any)
	if k8s["reflector"] != "b" || k8s["msg"] != "shadow" {
		t.Errorf("values under k8s, last wins: %v", got[0].ContextMap())
	}
	if got[1].Level != zap.WarnLevel || got[1].ContextMap()["error"] != "boom" {
		t.Errorf("error: %v %v", got[1].Level, got[1].ContextMap())
	}
}
