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
	// EntryPoints is YAML added under "entryPoints:" (indented by two
	// spaces), besides "web".
	EntryPoints string
	// Providers is YAML added under "providers:" (indented by two spaces),
	// besides the file provider.
	Providers string
	// LogLevel is the log level (default info).
	LogLevel string
	// Static, when set, renders the whole static configuration from the
	// chosen addresses instead of the default one above.
	Static func(f *Ferry) string
	// FollowRedirects makes Ferry's client follow redirects instead of
	// returning them.
	FollowRedirects bool
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
	if o.Static != nil {
		return o.Static(f)
	}
	grace := o.GraceTimeOut
	if grace == "" {
		grace = "10s"
	}
	level := o.LogLevel
	if level == "" {
		level = "info"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `entryPoints:
%s  web:
    address: %q
    transport:
      lifeCycle:
        graceTimeOut: %s
providers:
%s  debounce: 100ms
  maxWait: 1s
  file:
    filename: %q
    watch: true
api:
  insecure: true
  address: %q
log:
  level: %s
  format: json
`, o.EntryPoints, f.Web, grace, o.Providers, f.DynPath, f.API, level)
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
	f.launch(f.staticConfig(o), o.FollowRedirects)
	return f
}

// launch starts the binary on f.StaticPath, whose content is static, and
// waits until its API answers /ping. The process is killed when the test
// ends, and its log is printed if the test failed.
func (f *Ferry) launch(static string, followRedirects bool) {
	t := f.t
	t.Helper()
	f.process = startFerryProcess(t, f.StaticPath, static)
	tr := &http.Transport{MaxIdleConnsPerHost: 16, ResponseHeaderTimeout: waitTimeout}
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if !followRedirects {
		f.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	t.Cleanup(tr.CloseIdleConnections)
	f.waitPing()
}

// startFerryProcess runs the binary on staticPath, whose content is static
// ("" when not worth printing). The process is killed when the test ends,
// and its log is printed if the test failed.
func startFerryProcess(t testing.TB, staticPath, static string) *process {
	t.Helper()
	return startFerryProcessEnv(t, staticPath, static, nil)
}

// startFerryProcessEnv is startFerryProcess with extra environment
// variables (NAME=value) for the process.
func startFerryProcessEnv(t testing.TB, staticPath, static string, env []string) *process {
	t.Helper()
	p := &process{stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(ferryBin, "--config", staticPath)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start ferry: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		for _, problem := range jsonLogProblems(p.stderr.String()) {
			t.Errorf("ferry log: %s", problem)
		}
		if t.Failed() {
			if static != "" {
				t.Logf("ferry static config:\n%s", static)
			}
			t.Logf("ferry stderr (tail):\n%s", tail(p.stderr.String(), 16000))
		}
	})
	return p
}

// Exited reports whether the process has ended.
func (p *process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process if it still runs.
func (p *process) kill() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
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
