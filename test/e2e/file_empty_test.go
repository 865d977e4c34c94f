package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeInPlace truncates path, leaves it empty for gap, then writes data
// into the same file (no rename), as some editors and tools save.
func writeInPlace(t *testing.T, path, data string, gap time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatalf("truncate %s: %v", path, err)
	}
	defer f.Close()
	time.Sleep(gap)
	if _, err := f.WriteString(data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// emptyGraceRoutes is a dynamic file with the route a.test, and b.test
// answered by the backend named version.
func emptyGraceRoutes(be *Backend, version string) string {
	return dyn(`
http:
  routers:
    a:
      rule: Host('a.test')
      service: app
    b:
      rule: Host('%[2]s.test')
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: %[1]s
`, be.URL, version)
}

// TestFileRewrittenInPlace truncates the watched file, leaves it empty for
// 300 ms, then writes it (in place, three times) while a client loops on
// its route: not one request may fail, and every new content is served.
func TestFileRewrittenInPlace(t *testing.T) {
	be := StartBackend(t, "app", nil)
	f := StartFerry(t, Options{Dynamic: emptyGraceRoutes(be, "v0")})
	f.WaitRoute("a.test", "/", http.StatusOK, "app")

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stop     = make(chan struct{})
		requests int
		failures = map[string]int{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20000; i++ { // bounded; stopped long before
			select {
			case <-stop:
				return
			default:
			}
			res, err := f.Do(http.MethodGet, "a.test", "/", nil)
			mu.Lock()
			requests++
			switch {
			case err != nil:
				failures[err.Error()]++
			case res.Status != http.StatusOK:
				failures[fmt.Sprintf("status %d", res.Status)]++
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := 1; i <= 3; i++ {
		version := fmt.Sprintf("v%d", i)
		writeInPlace(t, f.DynPath, emptyGraceRoutes(be, version), 300*time.Millisecond)
		f.WaitRoute(version+".test", "/", http.StatusOK, "app")
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during 3 in-place rewrites, failures: %v", requests, failures)
	if len(failures) > 0 {
		t.Errorf("requests failed while the file was rewritten in place: %v", failures)
	}
	if requests < 50 {
		t.Errorf("only %d requests made: the loop did not overlap the rewrites", requests)
	}
}

// TestFileLeftEmpty truncates the watched file and leaves it empty: its
// routes stay for the empty grace (1s by default), then go, with a warning
// naming the file.
func TestFileLeftEmpty(t *testing.T) {
	const grace = time.Second
	be := StartBackend(t, "app", nil)
	f := StartFerry(t, Options{Dynamic: emptyGraceRoutes(be, "v0")})
	f.WaitRoute("a.test", "/", http.StatusOK, "app")
	mark := f.LogMark()
	start := time.Now()
	if err := os.Truncate(f.DynPath, 0); err != nil {
		t.Fatal(err)
	}
	var gone time.Duration
	for {
		res := f.Get("a.test", "/")
		elapsed := time.Since(start)
		if res.Status == http.StatusNotFound {
			gone = elapsed
			break
		}
		if res.Status != http.StatusOK {
			t.Fatalf("status %d after %s", res.Status, elapsed)
		}
		if elapsed > grace+waitTimeout {
			t.Fatalf("the route of the emptied file still served after %s", elapsed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("route gone %s after the file was emptied (emptyGrace %s)", gone.Round(time.Millisecond), grace)
	if gone < grace-50*time.Millisecond || gone > grace+time.Second {
		t.Errorf("route gone after %s, want about %s", gone, grace)
	}
	line := f.WaitLog(mark, "saying the file stayed empty", func(l string) bool {
		return strings.Contains(l, "stayed empty")
	})
	if !strings.Contains(line, f.DynPath) || !strings.Contains(line, `"level":"warn"`) {
		t.Errorf("want a warning naming %s, got: %s", f.DynPath, line)
	}
}
