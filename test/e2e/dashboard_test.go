package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// lineOf returns the 1-based line of the first line of text containing s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in:\n%s", s, text)
	return 0
}

// TestDashboardDisabledRouter: one good router and one whose middleware
// name has a typo. The overview counts 1 enabled and 1 disabled router; the
// list shows the disabled one's reason and the file:line of its
// definition; its page draws its chain. Screenshots in light and dark
// mode, at desktop and phone width. The page asks nothing of any host but
// Ferry.
func TestDashboardDisabledRouter(t *testing.T) {
	app := StartBackend(t, "a", nil)
	dynamic := dyn(`http:
  routers:
    good:
      rule: Host('app.test')
      service: app
      middlewares: [auth]
    typo:
      rule: Host('app.test') && PathPrefix('/admin')
      service: app
      middlewares: [auht]
  services:
    app:
      loadBalancer:
        servers:
          - url: %s
  middlewares:
    auth:
      headers:
        customRequestHeaders:
          X-Test: "1"
`, app.URL)
	f := StartFerry(t, Options{Dynamic: dynamic})
	f.WaitRoute("app.test", "/", http.StatusOK, "a")
	for range 5 { // some traffic for the rates
		f.Get("app.test", "/")
	}
	b := NewBrowser(t)
	base := "http://" + f.API + "/dashboard/"

	b.Do(chromedp.Navigate(base))
	b.WaitFor("overview counts", `document.querySelector('.counts a[href="#/http/routers?status=enabled"]')?.textContent.trim() === '1 enabled' &&
		document.querySelector('.counts a[href="#/http/routers?status=disabled"]')?.textContent.trim() === '1 disabled'`, 5*time.Second)
	b.WaitFor("live", `document.getElementById('live').dataset.state === 'live'`, 5*time.Second)
	if got := b.Text(".problems"); !strings.Contains(got, `middleware "auht@file" does not exist`) {
		t.Errorf("overview problems lack the reason:\n%s", got)
	}
	b.Screenshot("overview")

	b.Do(chromedp.Navigate(base + "#/http/routers"))
	b.WaitFor("router rows", `document.querySelectorAll('tr[data-name]').length >= 3`, 5*time.Second)
	good, bad := b.Text(`tr[data-name="good@file"]`), b.Text(`tr.row-disabled[data-name="typo@file"]`)
	if !strings.Contains(good, "Enabled") || !strings.Contains(bad, "Disabled") {
		t.Errorf("status column: good %q, typo %q", good, bad)
	}
	reason := b.Text(`tr.row-errors[data-name="typo@file"]`)
	wantOrigin := fmt.Sprintf("dyn.yaml:%d", lineOf(t, dynamic, "typo:"))
	if !strings.Contains(reason, `middleware "auht@file" does not exist`) || !strings.Contains(reason, wantOrigin) {
		t.Errorf("disabled row: want the reason and %s, got %q", wantOrigin, reason)
	}
	if n := Eval[int](b, `document.querySelectorAll('tr.row-errors').length`); n != 1 {
		t.Errorf("%d rows with errors, want 1", n)
	}
	b.Screenshot("routers")

	// The keyboard alone: "/" to search, Tab to the row's link, Enter to open it.
	b.Press("/", "Slash", 191)
	if !Eval[bool](b, `document.activeElement === document.querySelector('input[type=search]')`) {
		t.Error(`"/" does not focus the search box`)
	}
	b.Do(chromedp.KeyEvent("typo"))
	b.WaitFor("search by keyboard", `document.querySelectorAll('tr[data-name]:not(.row-errors)').length === 1 && document.querySelector('tr[data-name="typo@file"]')`, 5*time.Second)
	for i := 0; i < 12 && !Eval[bool](b, `document.activeElement.textContent === 'typo@file'`); i++ {
		b.Do(chromedp.KeyEvent(kb.Tab))
	}
	b.Do(chromedp.KeyEvent(kb.Enter))
	b.WaitFor("router page by keyboard", `location.hash === '#/http/routers/typo%40file' || location.hash === '#/http/routers/typo@file'`, 5*time.Second)

	// Filters: the address keeps them.
	b.Do(chromedp.Navigate(base + "#/http/routers?status=disabled"))
	b.WaitFor("filtered list", `document.querySelectorAll('tr[data-name]').length === 2 && document.querySelector('tr[data-name="typo@file"]')`, 5*time.Second)
	b.Do(chromedp.Navigate(base + "#/http/routers?q=nothing-matches"))
	b.WaitFor("empty search", `document.querySelector('.results .empty')`, 5*time.Second)

	b.Do(chromedp.Navigate(base + "#/http/routers/typo@file"))
	b.WaitFor("router page", `document.querySelector('.panel-bad') && document.querySelector('.chain-svg')`, 5*time.Second)
	if got := b.Text(".panel-bad"); !strings.Contains(got, wantOrigin) {
		t.Errorf("router page lacks the origin %s: %q", wantOrigin, got)
	}
	if got := Eval[string](b, `document.querySelector('.chain figcaption').textContent`); !strings.Contains(got, "auht@file (does not exist)") {
		t.Errorf("chain: %q", got)
	}
	b.Screenshot("router-disabled")
	b.Do(chromedp.Navigate(base + "#/http/routers/good@file"))
	b.WaitFor("chain of the good router", `document.querySelector('.chain figcaption')?.textContent.includes('auth@file (headers)')`, 5*time.Second)
	b.WaitFor("server up in the chain", `document.querySelector('.chain figcaption').textContent.includes('UP')`, 5*time.Second)
	b.Screenshot("router-chain")

	b.Viewport(390, 844, true)
	b.Do(chromedp.Navigate(base + "#/http/routers"))
	b.WaitFor("phone list", `document.querySelector('tr.row-errors[data-name="typo@file"]')`, 5*time.Second)
	if w := Eval[int](b, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the phone page scrolls sideways: %d px wide", w)
	}
	b.Screenshot("routers-phone")
	b.Do(chromedp.Navigate(base + "#/http/routers/good@file"))
	b.WaitFor("phone chain", `document.querySelector('.chain-svg')`, 5*time.Second)
	b.Screenshot("router-chain-phone")

	b.Viewport(1280, 900, false)
	b.ColorScheme("dark")
	b.Do(chromedp.Navigate(base + "#/"))
	b.WaitFor("dark overview", `document.querySelector('.tiles')`, 5*time.Second)
	if bg := Eval[string](b, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(14, 17, 21)" {
		t.Errorf("dark mode background %s", bg)
	}
	b.Screenshot("overview-dark")
	b.Do(chromedp.Navigate(base + "#/http/routers"))
	b.WaitFor("dark list", `document.querySelector('tr.row-errors')`, 5*time.Second)
	b.Screenshot("routers-dark")

	b.CheckOnlyHost(f.API)
}

// TestDashboardLive: the open page follows the configuration and the
// servers' health without a reload.
func TestDashboardLive(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	app := StartBackend(t, "a", map[string]http.HandlerFunc{"/health": func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
		}
	}, "/fail": func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "failing", http.StatusServiceUnavailable) }})
	config := func(extra string) string {
		return dyn(`http:
  routers:
    web:
      rule: Host('app.test')
      service: app
%s  services:
    app:
      loadBalancer:
        servers:
          - url: %s
        healthCheck:
          path: /health
          interval: 300ms
          timeout: 200ms
`, extra, app.URL)
	}
	f := StartFerry(t, Options{Dynamic: config("")})
	f.WaitRoute("app.test", "/", http.StatusOK, "a")
	b := NewBrowser(t)
	base := "http://" + f.API + "/dashboard/"

	// Traffic now: the overview's rates come from Ferry's own counters.
	b.Do(chromedp.Navigate(base))
	b.WaitFor("overview", `document.querySelector('.tiles')`, 5*time.Second)
	for i := range 40 { // 4 s at most
		path := "/"
		if i%4 == 3 {
			path = "/fail"
		}
		f.Get("app.test", path)
		time.Sleep(50 * time.Millisecond)
	}
	b.WaitFor("request and error rates", `(() => { const v = [...document.querySelectorAll('.tile-value')].map((e) => parseFloat(e.textContent));
		return v[0] > 0 && v[1] > 0; })()`, 5*time.Second)
	b.Screenshot("overview-traffic")

	b.Do(chromedp.Navigate(base + "#/http/routers"))
	b.WaitFor("router list", `document.querySelector('tr[data-name="web@file"]') && document.getElementById('live').dataset.state === 'live'`, 5*time.Second)
	Eval[bool](b, `window.__samePage = true`)
	f.WriteDynamic(config("    added:\n      rule: Host(`added.test`)\n      service: app\n"))
	took := b.WaitFor("added router", `document.querySelector('tr[data-name="added@file"]')`, 2*time.Second)
	if !Eval[bool](b, `window.__samePage === true`) {
		t.Error("the page was reloaded")
	}
	t.Logf("a router added to the file showed on the open page after %s", took.Round(time.Millisecond))
	b.Screenshot("router-added")

	b.Do(chromedp.Navigate(base + "#/http/services/app@file"))
	b.WaitFor("server UP", `document.querySelector('tr[data-url] .badge')?.innerText.trim() === 'UP'`, 5*time.Second)
	Eval[bool](b, `window.__samePage = true`)
	b.Screenshot("service-up")
	healthy.Store(false)
	took = b.WaitFor("server DOWN", `document.querySelector('tr[data-url] .badge')?.innerText.trim() === 'DOWN'`, 5*time.Second)
	if !Eval[bool](b, `window.__samePage === true`) {
		t.Error("the page was reloaded")
	}
	t.Logf("a failing health check showed DOWN on the open page after %s (checks every 300ms)", took.Round(time.Millisecond))
	if got := b.Text("tr[data-url]"); !strings.Contains(got, "status 500") {
		t.Errorf("the server row lacks the check's error: %q", got)
	}
	b.WaitFor("chain DOWN", `document.querySelector('.chain figcaption').textContent.includes('DOWN')`, 5*time.Second)
	b.Screenshot("service-down")
	b.CheckOnlyHost(f.API)
}

// TestDashboardInternalService reaches the dashboard through a router to
// dashboard@internal on an entry point: the page, its API and its event
// stream work there, and the TLS page shows the certificate of
// tls.certificates.
func TestDashboardInternalService(t *testing.T) {
	_, certPEM, keyPEM := listenerCertificates(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := func(extra string) string {
		return dyn(`http:
  routers:
    ops:
      rule: PathPrefix('/dashboard') || PathPrefix('/api')
      service: dashboard@internal
%stls:
  certificates:
    - certFile: %q
      keyFile: %q
`, extra, certFile, keyFile)
	}
	f := StartFerry(t, Options{Dynamic: config("")})
	f.WaitRoute("any.test", "/dashboard/", http.StatusOK, "")
	page := f.Get("any.test", "/dashboard/")
	if !strings.Contains(string(page.Body), "<title>Ferry</title>") || !strings.Contains(page.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("dashboard page: %d %s %s", page.Status, page.Header, page.Body)
	}
	if res := f.Get("any.test", "/dashboard"); res.Status != http.StatusFound || res.Header.Get("Location") != "/dashboard/" {
		t.Errorf("/dashboard: %d to %q", res.Status, res.Header.Get("Location"))
	}

	// The event stream through the entry point says when a router is added.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.Web+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || lines.Text() != "retry: 1000" {
		t.Fatalf("stream starts with %q", lines.Text())
	}
	start := time.Now()
	f.WriteDynamic(config("    app:\n      rule: Host(`app.test`)\n      service: ops@internal-nope\n"))
	for lines.Scan() && lines.Text() != "event: change" {
	}
	if lines.Err() != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("no change event within 2s through the entry point (%v after %s)", lines.Err(), time.Since(start))
	}
	t.Logf("change event through the entry point after %s", time.Since(start).Round(time.Millisecond))
	cancel()

	b := NewBrowser(t)
	b.Do(chromedp.Navigate("http://" + f.Web + "/dashboard/#/tls"))
	b.WaitFor("certificate row", `document.querySelector('.list a[href^="#/tls/cfg"]')`, 5*time.Second)
	row := b.Text(".list tbody tr")
	for _, want := range []string{"localhost, 127.0.0.1", "ferry test pebble listener CA", "in 23 h"} {
		if !strings.Contains(row, want) {
			t.Errorf("certificate row lacks %q: %q", want, row)
		}
	}
	b.Screenshot("tls")
	b.Do(chromedp.Click(chromedp.CSS(`.list a[href^="#/tls/cfg"]`)))
	b.WaitFor("certificate page", `document.querySelector('.props') && location.hash.startsWith('#/tls/cfg')`, 5*time.Second)
	b.Screenshot("certificate")
	b.Do(chromedp.Navigate("http://" + f.Web + "/dashboard/#/http/routers?q=app"))
	b.WaitFor("the new router, disabled", `document.querySelector('tr.row-errors[data-name="app@file"]')`, 5*time.Second)
	b.CheckOnlyHost(f.Web)
}
