package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// lbBackend is a backend that can be killed and brought back on the same
// address, with a switchable /health endpoint and a count of the requests
// it served (health checks aside).
type lbBackend struct {
	t    testing.TB
	Name string
	Addr string
	URL  string

	healthy atomic.Bool
	hits    atomic.Int64
	delay   atomic.Int64 // nanoseconds to wait before answering

	mu  sync.Mutex
	srv *http.Server
}

func startLBBackend(t testing.TB, name string) *lbBackend {
	t.Helper()
	b := &lbBackend{t: t, Name: name}
	b.healthy.Store(true)
	ln, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatalf("backend %s: listen: %v", name, err)
	}
	b.Addr = ln.Addr().String()
	b.URL = "http://" + b.Addr
	b.serve(ln)
	t.Cleanup(b.Kill)
	return b
}

func (b *lbBackend) handler() http.Handler {
	h := echo.Handler(b.Name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if !b.healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		if d := time.Duration(b.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (b *lbBackend) serve(ln net.Listener) {
	srv := &http.Server{Handler: b.handler(), ReadHeaderTimeout: 5 * time.Second}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Kill closes the listener and every connection: the server is gone.
func (b *lbBackend) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}

// Revive listens on the same address again.
func (b *lbBackend) Revive() {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ln, err := net.Listen("tcp", b.Addr)
		if err == nil {
			b.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("backend %s: listen again on %s: %v", b.Name, b.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiService is one element of /api/http/services.
type apiService struct {
	Name         string            `json:"name"`
	Status       string            `json:"status"`
	Error        []string          `json:"error"`
	ServerStatus map[string]string `json:"serverStatus"`
	ServerHealth map[string]struct {
		Status     string     `json:"status"`
		LastError  string     `json:"lastError"`
		LastChange *time.Time `json:"lastChange"`
	} `json:"serverHealth"`
}

// lbService returns /api/http/services/{name}.
func (f *Ferry) lbService(name string) apiService {
	f.t.Helper()
	var s apiService
	f.APIGet("/api/http/services/"+name, &s)
	return s
}

// lbWaitServer waits until the API shows server url of service in status
// and returns how long that took.
func (f *Ferry) lbWaitServer(service, url, status string) time.Duration {
	f.t.Helper()
	start := time.Now()
	for {
		var s apiService
		if err := f.lbTryAPI("/api/http/services/"+service, &s); err == nil && s.ServerStatus[url] == status {
			return time.Since(start)
		}
		if time.Since(start) > waitTimeout {
			f.t.Fatalf("service %s: server %s is %q, want %q within %s (%+v)", service, url, s.ServerStatus[url], status, waitTimeout, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lbSpread sends n GETs for host and counts answers by backend; any answer
// other than 200 fails the test.
func (f *Ferry) lbSpread(host string, n int) map[string]int {
	f.t.Helper()
	seen := map[string]int{}
	for i := range n {
		res, err := f.Do(http.MethodGet, host, "/", nil)
		if err != nil {
			f.t.Fatalf("request %d to %s: %v", i, host, err)
		}
		if res.Status != http.StatusOK {
			f.t.Fatalf("request %d to %s: status %d from %q", i, host, res.Status, res.Backend())
		}
		seen[res.Backend()]++
	}
	return seen
}

// lbDo sends one GET with cookies and returns the result.
func (f *Ferry) lbDo(host string, cookies ...*http.Cookie) (*Result, []*http.Cookie) {
	f.t.Helper()
	hdr := http.Header{}
	var parts []string
	for _, c := range cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) > 0 {
		hdr.Set("Cookie", strings.Join(parts, "; "))
	}
	res, err := f.Do(http.MethodGet, host, "/", hdr)
	if err != nil {
		f.t.Fatalf("GET %s: %v", host, err)
	}
	return res, (&http.Response{Header: res.Header}).Cookies()
}

// lbTryAPI decodes the API's answer for path into v; an error when the
// object does not exist (yet).
func (f *Ferry) lbTryAPI(path string, v any) error {
	resp, err := f.client.Get("http://" + f.API + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("API GET %s: status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
