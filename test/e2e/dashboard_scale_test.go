package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardScale measures the dashboard with 10,000 routers and
// services (FERRY_E2E_SCALE=1): the API's answer for the router list, the
// page's weight, and the time until the router list first shows rows. It
// prints figures; it asserts only that the list stays usable (one page of
// rows, search that narrows it).
func TestDashboardScale(t *testing.T) {
	if os.Getenv("FERRY_E2E_SCALE") == "" {
		t.Skip("FERRY_E2E_SCALE=1 measures the dashboard with 10,000 routers")
	}
	const n = 10000
	var b strings.Builder
	b.WriteString("http:\n  routers:\n")
	for i := range n {
		fmt.Fprintf(&b, "    r%05d:\n      rule: Host(`r%05d.test`) && PathPrefix(`/api`)\n      service: s%05d\n", i, i, i)
	}
	b.WriteString("    broken:\n      rule: Host(`broken.test`)\n      service: s00000\n      middlewares: [missing]\n")
	b.WriteString("  services:\n")
	for i := range n {
		fmt.Fprintf(&b, "    s%05d:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:%d\n", i, 20000+i%1000)
	}
	f := StartFerry(t, Options{Dynamic: b.String()})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var o struct {
			HTTP struct {
				Routers struct{ Enabled, Disabled int }
			} `json:"http"`
		}
		f.APIGet("/api/overview", &o)
		if o.HTTP.Routers.Enabled == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d routers enabled after 30s", o.HTTP.Routers.Enabled)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var times []time.Duration
	var size int
	for range 7 {
		start := time.Now()
		resp, err := http.Get("http://" + f.API + "/api/http/routers")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		times = append(times, time.Since(start))
		size = len(body)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("GET /api/http/routers with %d routers: %d bytes, median %s (min %s, max %s)", n+1, size,
		times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))

	start := time.Now()
	var ex struct {
		EntryPoints []struct {
			Winner *struct{ Router string } `json:"winner"`
		} `json:"entryPoints"`
	}
	f.APIGet("/api/explain?url=http://r09999.test/api/x", &ex)
	if len(ex.EntryPoints) != 1 || ex.EntryPoints[0].Winner == nil || ex.EntryPoints[0].Winner.Router != "r09999@file" {
		t.Errorf("explain: %+v", ex)
	}
	t.Logf("GET /api/explain among %d routers: %s", n+1, time.Since(start).Round(time.Millisecond))

	br := NewBrowser(t)
	start = time.Now()
	br.Do(chromedp.Navigate("http://" + f.API + "/dashboard/#/http/routers"))
	br.WaitFor("first rows", `document.querySelector('tr[data-name]')`, 30*time.Second)
	wall := time.Since(start)
	firstRows := Eval[float64](br, `performance.getEntriesByName('ferry:rendered')[0].startTime`)
	t.Logf("router list: first rows rendered %s after navigation start (seen by the test after %s)",
		time.Duration(firstRows*float64(time.Millisecond)).Round(time.Millisecond), wall.Round(time.Millisecond))
	if rows := Eval[int](br, `document.querySelectorAll('tr[data-name]:not(.row-errors)').length`); rows != 50 {
		t.Errorf("%d rows on the first page, want 50", rows)
	}
	if got := br.Text(".count-text"); !strings.Contains(got, "of 10,001") {
		t.Errorf("count: %q", got)
	}
	weight := Eval[float64](br, `performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
		.filter((e) => new URL(e.name).pathname.startsWith('/dashboard/')).reduce((n, e) => n + e.encodedBodySize, 0)`)
	t.Logf("page weight: %.1f KB in the dashboard's files", weight/1024)
	br.Screenshot("routers-10000")

	filterStart := Eval[float64](br, `(() => { const i = document.querySelector('input[type=search]'); i.value = 'r09999'; i.dispatchEvent(new Event('input')); return performance.now(); })()`)
	br.WaitFor("filtered", `document.querySelectorAll('tr[data-name]').length === 1`, 10*time.Second)
	filtered := Eval[float64](br, `performance.now()`) - filterStart
	t.Logf("search over %d routers: the list shows the one match %.0f ms after typing (150 ms of it debounce)", n+1, filtered)
	br.Do(chromedp.Navigate("http://" + f.API + "/dashboard/#/http/routers?status=disabled"))
	br.WaitFor("disabled one", `document.querySelector('tr.row-errors[data-name="broken@file"]')`, 10*time.Second)
	br.Screenshot("routers-10000-disabled")

	start = time.Now()
	br.Do(chromedp.Navigate("http://" + f.API + "/dashboard/#/"))
	br.WaitFor("overview", `document.querySelector('.tiles')`, 30*time.Second)
	t.Logf("overview with %d routers and services: shown after %s", n, time.Since(start).Round(time.Millisecond))
	br.Screenshot("overview-10000")
}
