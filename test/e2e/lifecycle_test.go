package e2e

import (
	"errors"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAccessLogCommon(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	f := StartFerry(t, Options{AccessLogFormat: "common", Dynamic: dyn(`
http:
  routers:
    logged:
      rule: "Host('log.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL)})
	f.WaitRoute("log.test", "/", http.StatusOK, "a")
	if res := f.Get("log.test", "/access-check?x=1"); res.Status != http.StatusOK {
		t.Fatalf("status %d", res.Status)
	}
	if res := f.Get("log.test", "/status/418"); res.Status != http.StatusTeapot {
		t.Fatalf("status %d", res.Status)
	}
	if res := f.Get("nothing.test", "/nope"); res.Status != http.StatusNotFound {
		t.Fatalf("status %d", res.Status)
	}
	// Common Log Format: host ident authuser [date] "request line" status bytes
	wants := []*regexp.Regexp{
		regexp.MustCompile(`^127\.0\.0\.1 - \S+ \[[^\]]+\] "GET /access-check\?x=1 HTTP/1\.1" 200 \d+`),
		regexp.MustCompile(`^127\.0\.0\.1 - \S+ \[[^\]]+\] "GET /status/418 HTTP/1\.1" 418 \d+`),
		regexp.MustCompile(`^127\.0\.0\.1 - \S+ \[[^\]]+\] "GET /nope HTTP/1\.1" 404 \d+`),
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		data, _ := os.ReadFile(f.AccessLogPath)
		missing := 0
		for _, re := range wants {
			found := false
			for _, line := range strings.Split(string(data), "\n") {
				if re.MatchString(line) {
					found = true
				}
			}
			if !found {
				missing++
				if time.Now().After(deadline) {
					t.Errorf("access log has no line matching %s", re)
				}
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log %s:\n%s", f.AccessLogPath, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	hold := func(w http.ResponseWriter, r *http.Request) {
		// Answers only once the test releases it, so the request is surely
		// in flight when ferry gets SIGTERM.
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		w.Header().Set("X-Backend", "a")
		_, _ = w.Write([]byte("done"))
	}
	a := StartBackend(t, "a", map[string]http.HandlerFunc{"/hold": hold})
	f := StartFerry(t, Options{GraceTimeOut: "10s", Dynamic: dyn(`
http:
  routers:
    slow:
      rule: "Host('slow.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL)})
	f.WaitRoute("slow.test", "/", http.StatusOK, "a")

	type answer struct {
		res *Result
		err error
	}
	answers := make(chan answer, 1)
	go func() {
		res, err := f.Do(http.MethodGet, "slow.test", "/hold", nil)
		answers <- answer{res, err}
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request did not reach the backend")
	}
	f.Signal(syscall.SIGTERM)

	// Ferry stops accepting while the request is still in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", f.Web, time.Second)
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Logf("dial after SIGTERM: %v", err)
			}
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Error("entry point still accepts connections 5s after SIGTERM")
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if f.Exited() {
		t.Fatal("ferry exited before the in-flight request completed")
	}

	close(release)
	select {
	case ans := <-answers:
		if ans.err != nil {
			t.Fatalf("in-flight request failed after SIGTERM: %v", ans.err)
		}
		if ans.res.Status != http.StatusOK || string(ans.res.Body) != "done" {
			t.Fatalf("in-flight request: status %d body %q, want 200 done", ans.res.Status, ans.res.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request did not complete")
	}
	code, err := f.WaitExit(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("ferry exit code %d after SIGTERM, want 0", code)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, code := runFerry(t, "version")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("ferry version: exit %d, output %q", code, out)
	}
}
