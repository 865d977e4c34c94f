package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMiddlewareErrorPagesFollowService edits the error page service: the
// unchanged errors middleware must serve pages from the new servers.
func TestMiddlewareErrorPagesFollowService(t *testing.T) {
	t.Parallel()
	app := StartBackend(t, "app", nil)
	page := func(name string) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{"/errors/": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "page from %s", name)
		}}
	}
	one, two := StartBackend(t, "one", page("one")), StartBackend(t, "two", page("two"))
	cfg := func(pages *Backend) string {
		return dyn(`
http:
  routers:
    web:
      rule: "Host('web.test')"
      service: app
      middlewares: [pages]
  services:
    app:
      loadBalancer:
        servers:
          - url: "%s"
    errpages:
      loadBalancer:
        servers:
          - url: "%s"
  middlewares:
    pages:
      errors:
        status: ["500-599"]
        service: errpages
        query: /errors/{status}
`, app.URL, pages.URL)
	}
	f := StartFerry(t, Options{Dynamic: cfg(one)})
	f.WaitRoute("web.test", "/", http.StatusOK, "app")
	if res := mwDo(f, "GET", "web.test", "/status/502", nil); res.Status != 502 || string(res.Body) != "page from one" {
		t.Fatalf("first page: %d %q", res.Status, res.Body)
	}
	f.WriteDynamic(cfg(two))
	deadline := time.Now().Add(waitTimeout)
	for {
		res := mwDo(f, "GET", "web.test", "/status/502", nil)
		if res.Status == 502 && string(res.Body) == "page from two" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the service edit: %d %q, want the page from two", res.Status, res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
