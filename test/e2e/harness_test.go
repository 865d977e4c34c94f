package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// waitTimeout bounds every poll for readiness, routes and log lines.
const waitTimeout = 10 * time.Second

// Options describe one ferry process.
type Options struct {
	// Dynamic is the content of the watched dynamic file.
	Dynamic string
	// GraceTimeOut is the entry point's drain time (default 10s).
	GraceTimeOut string
	// AccessLogFormat, when set (common or json), writes an access log to Ferry.AccessLogPath.
	AccessLogFormat string
}

// Ferry is a running ferry process.
type Ferry struct {
	t *testing.T
	// Web is the address of the entry point "web".
	Web string
	// API is the address of the API.
	API string
	// Dir holds the static and dynamic files.
	Dir string
	// DynPath is the watched dynamic file.
	DynPath string
	// StaticPath is the static configuration file.
	StaticPath string
	// AccessLogPath is the access log file, when Options.AccessLogFormat is set.
	AccessLogPath string

	*process
	client *http.Client
}

// process is the running binary, shared by every view of a Ferry.
type process struct {
	cmd     *exec.Cmd
	stderr  *syncBuffer
	stdout  *syncBuffer
	done    chan struct{}
	waitErr error
}

// For returns a view of f that reports failures to t, for use in subtests.
func (f *Ferry) For(t *testing.T) *Ferry {
	c := *f
	c.t = t
	return &c
}

// staticConfig renders the static configuration of f.
func (f *Ferry) staticConfig(o Options) string {
	grace := o.GraceTimeOut
	if grace == "" {
		grace = "10s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `entryPoints:
  web:
    address: %q
    transport:
      lifeCycle:
        graceTimeOut: %s
providers:
  debounce: 100ms
  maxWait: 1s
  file:
    filename: %q
    watch: true
api:
  address: %q
log:
  level: info
  format: json
`, f.Web, grace, f.DynPath, f.API)
	if o.AccessLogFormat != "" {
		fmt.Fprintf(&b, "accessLog:\n  filePath: %q\n  format: %s\n", f.AccessLogPath, o.AccessLogFormat)
	}
	return b.String()
}

// newFerryFiles prepares the directory, ports and files of a ferry process
// without starting it.
func newFerryFiles(t *testing.T, o Options) *Ferry {
	t.Helper()
	dir := t.TempDir()
	f := &Ferry{
		t:             t,
		Web:           freeAddr(t),
		API:           freeAddr(t),
		Dir:           dir,
		DynPath:       filepath.Join(dir, "dynamic", "dyn.yaml"),
		StaticPath:    filepath.Join(dir, "ferry.yaml"),
		AccessLogPath: filepath.Join(dir, "access.log"),
	}
	if err := os.MkdirAll(filepath.Dir(f.DynPath), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, f.DynPath, o.Dynamic)
	writeFileAtomic(t, f.StaticPath, f.staticConfig(o))
	return f
}

// StartFerry writes the configuration files, starts ferry and waits until
// its API answers /ping. The process is killed when the test ends, and its
// log is printed if the test failed.
func StartFerry(t *testing.T, o Options) *Ferry {
	t.Helper()
	f := newFerryFiles(t, o)
	f.process = &process{stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(ferryBin, "--config", f.StaticPath)
	f.cmd.Stderr, f.cmd.Stdout = f.stderr, f.stdout
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start ferry: %v", err)
	}
	go func() {
		f.waitErr = f.cmd.Wait()
		close(f.done)
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: 16, ResponseHeaderTimeout: waitTimeout}
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		f.kill()
		if t.Failed() {
			t.Logf("ferry static config:\n%s", f.staticConfig(o))
			t.Logf("ferry stderr (tail):\n%s", tail(f.stderr.String(), 16000))
		}
	})
	f.waitPing()
	return f
}

// Exited reports whether the process has ended.
func (f *Ferry) Exited() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// kill ends the process if it still runs.
func (f *Ferry) kill() {
	if f.Exited() {
		return
	}
	_ = f.cmd.Process.Kill()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
	}
}

// Signal sends sig to the process.
func (f *Ferry) Signal(sig syscall.Signal) {
	f.t.Helper()
	if err := f.cmd.Process.Signal(sig); err != nil {
		f.t.Fatalf("signal ferry: %v", err)
	}
}

// WaitExit waits up to d for the process to end and returns its exit code.
func (f *Ferry) WaitExit(d time.Duration) (int, error) {
	if !f.Exited() {
		select {
		case <-f.done:
		case <-time.After(d):
			return -1, fmt.Errorf("ferry still runs after %s", d)
		}
	}
	var ee *exec.ExitError
	if errors.As(f.waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	if f.waitErr != nil {
		return -1, f.waitErr
	}
	return 0, nil
}

// Logs returns everything ferry wrote on stderr so far.
func (f *Ferry) Logs() string { return f.stderr.String() }

// LogMark returns a position in the log; WaitLog searches after it.
func (f *Ferry) LogMark() int { return f.stderr.Len() }

// WaitLog waits until a log line written after mark satisfies match and
// returns it.
func (f *Ferry) WaitLog(mark int, what string, match func(line string) bool) string {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		logs := f.stderr.String()
		if mark <= len(logs) {
			for _, line := range strings.Split(logs[mark:], "\n") {
				if match(line) {
					return line
				}
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no log line %s within %s", what, waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WriteDynamic replaces the watched dynamic file atomically.
func (f *Ferry) WriteDynamic(data string) {
	f.t.Helper()
	writeFileAtomic(f.t, f.DynPath, data)
}

func (f *Ferry) waitPing() {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last string
	for time.Now().Before(deadline) {
		if f.Exited() {
			code, _ := f.WaitExit(0)
			f.t.Fatalf("ferry exited (code %d) before answering /ping", code)
		}
		resp, err := f.client.Get("http://" + f.API + "/ping")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
				return
			}
			last = fmt.Sprintf("status %d body %q", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("ferry API %s/ping not ready within %s: %s", f.API, waitTimeout, last)
}

// Result is an answer received through Ferry.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
	// Echo is the decoded body when a test backend answered with JSON.
	Echo echo.Response
}

// Backend is the X-Backend header of the answer.
func (r *Result) Backend() string { return r.Header.Get("X-Backend") }

// Do sends a request through the entry point "web" with the given Host.
func (f *Ferry) Do(method, host, path string, hdr http.Header) (*Result, error) {
	req, err := http.NewRequest(method, "http://"+f.Web+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Host = host
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	res := &Result{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &res.Echo)
	}
	return res, nil
}

// Get sends a GET through the entry point "web" and fails the test on a
// transport error.
func (f *Ferry) Get(host, path string) *Result {
	f.t.Helper()
	res, err := f.Do(http.MethodGet, host, path, nil)
	if err != nil {
		f.t.Fatalf("GET http://%s%s: %v", host, path, err)
	}
	return res
}

// WaitRoute polls until GET host+path answers status from backend ("" for
// any) and fails the test after waitTimeout.
func (f *Ferry) WaitRoute(host, path string, status int, backend string) {
	f.t.Helper()
	f.waitRouteWithin(host, path, status, backend, waitTimeout)
}

// waitRouteWithin is WaitRoute with an explicit bound; it returns how long
// the route took to appear.
func (f *Ferry) waitRouteWithin(host, path string, status int, backend string, d time.Duration) time.Duration {
	f.t.Helper()
	start := time.Now()
	var last string
	for {
		res, err := f.Do(http.MethodGet, host, path, nil)
		if err == nil && res.Status == status && (backend == "" || res.Backend() == backend) {
			return time.Since(start)
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("status %d from backend %q", res.Status, res.Backend())
		}
		if time.Since(start) > d {
			f.t.Fatalf("GET http://%s%s: want status %d from backend %q within %s, last got %s",
				host, path, status, backend, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// APIGet decodes the JSON answer of an API path into v.
func (f *Ferry) APIGet(path string, v any) {
	f.t.Helper()
	resp, err := f.client.Get("http://" + f.API + path)
	if err != nil {
		f.t.Fatalf("API GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("API GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		f.t.Fatalf("API GET %s: decode: %v\n%s", path, err, body)
	}
}

// apiRouter is one element of /api/http/routers.
type apiRouter struct {
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	Status      string   `json:"status"`
	Error       []string `json:"error"`
	Rule        string   `json:"rule"`
	Service     string   `json:"service"`
	EntryPoints []string `json:"entryPoints"`
	Priority    int      `json:"priority"`
}

// Routers returns /api/http/routers by name.
func (f *Ferry) Routers() ([]apiRouter, map[string]apiRouter) {
	f.t.Helper()
	var list []apiRouter
	f.APIGet("/api/http/routers", &list)
	m := make(map[string]apiRouter, len(list))
	for _, r := range list {
		m[r.Name] = r
	}
	return list, m
}
