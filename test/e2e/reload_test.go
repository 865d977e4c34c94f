package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// reloadConfig is the dynamic file of TestHotReload: switch.test goes to
// switchSvc, and the router "unrelated" matches unrelatedHost; stable.test,
// stream.test and the services never change.
func reloadConfig(a, b *Backend, switchSvc, unrelatedHost string) string {
	return dyn(`
http:
  routers:
    stable:
      rule: "Host('stable.test')"
      service: a
    stream:
      rule: "Host('stream.test')"
      service: a
    switch:
      rule: "Host('switch.test')"
      service: %s
    unrelated:
      rule: "Host('%s')"
      service: b
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
    b:
      loadBalancer:
        servers:
          - url: "%s"
`, switchSvc, unrelatedHost, a.URL, b.URL)
}

func TestHotReload(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	edit := 0
	// unrelatedEdit rewrites the file with a new rule for the unrelated
	// router and returns the host that rule matches.
	unrelatedEdit := func(f *Ferry, switchSvc string) string {
		edit++
		host := fmt.Sprintf("unrelated-%d.test", edit)
		f.WriteDynamic(reloadConfig(a, b, switchSvc, host))
		return host
	}
	f := StartFerry(t, Options{Dynamic: reloadConfig(a, b, "a", "unrelated-0.test")})
	f.WaitRoute("switch.test", "/", http.StatusOK, "a")
	f.WaitRoute("stable.test", "/", http.StatusOK, "a")

	t.Run("edit changes routing within 1s", func(t *testing.T) {
		f := f.For(t)
		f.WriteDynamic(reloadConfig(a, b, "b", "unrelated-0.test"))
		took := f.waitRouteWithin("switch.test", "/", http.StatusOK, "b", 5*time.Second)
		t.Logf("new route served %s after the edit", took.Round(time.Millisecond))
		if took > time.Second {
			t.Fatalf("routing changed %s after the edit, want within 1s", took)
		}
	})

	t.Run("no failed request during 50 edits", func(t *testing.T) {
		f := f.For(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var ok, failed atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					res, err := f.Do(http.MethodGet, "stable.test", "/loop", nil)
					switch {
					case err != nil && ctx.Err() != nil:
						return
					case err != nil:
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					case res.Status != http.StatusOK || res.Backend() != "a":
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d from %q", res.Status, res.Backend()))
					default:
						ok.Add(1)
					}
				}
			}()
		}
		var last string
		for i := 0; i < 50 && ctx.Err() == nil; i++ {
			last = unrelatedEdit(f, "b")
			time.Sleep(40 * time.Millisecond)
		}
		// The last edit must have taken effect, or the edits proved nothing.
		f.waitRouteWithin(last, "/", http.StatusOK, "b", 5*time.Second)
		cancel()
		wg.Wait()
		t.Logf("%d requests succeeded, %d failed during the edits", ok.Load(), failed.Load())
		if failed.Load() > 0 {
			t.Fatalf("%d requests failed during the edits; first: %v", failed.Load(), firstErr.Load())
		}
		if ok.Load() == 0 {
			t.Fatal("no request completed during the edits")
		}
	})

	t.Run("websocket survives an unrelated edit", func(t *testing.T) {
		f := f.For(t)
		conn := dialWS(t, f, "stream.test", "/ws")
		wsEcho(t, conn, websocket.TextMessage, []byte("before"))
		host := unrelatedEdit(f, "b")
		f.WaitRoute(host, "/", http.StatusOK, "b")
		wsEcho(t, conn, websocket.TextMessage, []byte("after"))
	})

	t.Run("in-flight requests complete across an edit", func(t *testing.T) {
		f := f.For(t)
		type result struct {
			what string
			err  error
		}
		results := make(chan result, 2)
		go func() {
			res, err := f.Do(http.MethodGet, "stable.test", "/slow?ms=1500", nil)
			if err == nil && (res.Status != http.StatusOK || res.Echo.Path != "/slow") {
				err = fmt.Errorf("status %d, backend path %q", res.Status, res.Echo.Path)
			}
			results <- result{"slow request", err}
		}()
		sseStarted := make(chan struct{})
		go func() {
			results <- result{"sse stream", readSSE(f, "stream.test", "/sse?n=12", 12, sseStarted)}
		}()
		select {
		case <-sseStarted:
		case <-time.After(5 * time.Second):
			t.Fatal("sse stream did not start")
		}
		host := unrelatedEdit(f, "b")
		f.WaitRoute(host, "/", http.StatusOK, "b")
		for i := 0; i < 2; i++ {
			select {
			case r := <-results:
				if r.err != nil {
					t.Errorf("%s in flight during the edit: %v", r.what, r.err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("in-flight requests did not finish")
			}
		}
	})
}

// readSSE reads a stream of n events from the echo backend through Ferry;
// started is closed once the first event arrived.
func readSSE(f *Ferry, host, path string, n int, started chan<- struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.Web+path, nil)
	req.Host = host
	resp, err := f.client.Do(req)
	if err != nil {
		close(started)
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		close(started)
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	got := 0
	for sc.Scan() {
		if len(sc.Text()) > 5 && sc.Text()[:5] == "data:" {
			got++
			if got == 1 {
				close(started)
			}
		}
	}
	if got == 0 {
		close(started)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("after %d of %d events: %w", got, n, err)
	}
	if got != n {
		return fmt.Errorf("got %d of %d events", got, n)
	}
	return nil
}
