package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// overlapping has three routers that could serve http://app.test/api/x:
// api wins; admin's path does not match; site matches with a lower
// priority. A fourth, TLS only, serves https only.
const overlapping = `http:
  routers:
    api:
      rule: Host('app.test') && PathPrefix('/api')
      service: app
    admin:
      rule: Host('app.test') && PathPrefix('/admin')
      service: app
      priority: 100
    site:
      rule: Host('app.test')
      service: app
      priority: 1
  services:
    app:
      loadBalancer:
        servers:
          - url: %s
`

// The verdicts a user checks, as ferry explain prints them.
var explainWants = []string{
	"entry point web: api@file (priority 38) serves it over plain HTTP",
	"chain: web -> api@file -> app@file -> ",
	"admin@file (priority 100): rule does not match: PathPrefix(`/admin`) did not match path /api/x",
	"site@file (priority 1): lower priority: its rule matches too, but its priority 1 is lower than api@file's 38",
}

// TestExplainCLI runs ferry explain offline on the files of a running
// Ferry and compares its answer with the API's.
func TestExplainCLI(t *testing.T) {
	app := StartBackend(t, "a", nil)
	f := StartFerry(t, Options{Dynamic: dyn(overlapping, app.URL)})
	f.WaitRoute("app.test", "/api/x", http.StatusOK, "a")

	out, code := runFerry(t, "explain", "--config", f.StaticPath, "GET http://app.test/api/x")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, w := range explainWants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	// Flags after the request, a header and JSON: the same answer as the
	// running Ferry's API.
	out, code = runFerry(t, "explain", "--config", f.StaticPath, "http://app.test/api/x", "-H", "X-Env: prod", "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var offline, live map[string]any
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &offline); err != nil {
		t.Fatalf("decode %v:\n%s", err, out)
	}
	f.APIGet("/api/explain?"+url.Values{"url": {"http://app.test/api/x"}, "header": {"X-Env: prod"}}.Encode(), &live)
	if !reflect.DeepEqual(offline, live) {
		t.Errorf("ferry explain and /api/explain differ:\noffline %v\nlive    %v", offline, live)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no router", []string{"GET http://nobody.test/"}, 1, "no router matches on web over plain HTTP: 404"},
		{"TLS request", []string{"https://app.test/api/x"}, 1, "site@file (priority 1): plain HTTP only: it serves plain HTTP only (no tls section), the request is TLS"},
		{"no request", nil, 2, "explain: want one request"},
		{"bad scheme", []string{"GET ftp://app.test/"}, 2, `scheme "ftp"`},
		{"unknown entry point", []string{"--entrypoint", "nope", "http://app.test/"}, 2, `entry point "nope" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runFerry(t, append([]string{"explain", "--config", f.StaticPath}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s", code, tt.code, tt.want, out)
			}
		})
	}
}

// TestDashboardExplain fills the dashboard's explain form as a user would
// and finds the same verdicts as ferry explain.
func TestDashboardExplain(t *testing.T) {
	app := StartBackend(t, "a", nil)
	f := StartFerry(t, Options{Dynamic: dyn(overlapping, app.URL)})
	f.WaitRoute("app.test", "/api/x", http.StatusOK, "a")
	b := NewBrowser(t)
	b.Do(chromedp.Navigate("http://"+f.API+"/dashboard/"),
		chromedp.Click(chromedp.CSS(`.main-nav a[href="#/explain"]`)),
		chromedp.WaitVisible(chromedp.ID("ex-url")),
		chromedp.SendKeys(chromedp.ID("ex-url"), "http://app.test/api/x"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.WaitFor("verdict", `document.querySelector('.ep-verdict .winner')`, 5*time.Second)
	if got := Eval[string](b, `document.querySelector('.ep-verdict .verdict').textContent`); !strings.Contains(got, "api@file serves it (priority 38)") {
		t.Errorf("verdict %q", got)
	}
	rows := map[string][]string{
		"admin@file": {"100", "Rule does not match", "PathPrefix(`/admin`) did not match path /api/x"},
		"site@file":  {"1", "Lower priority", "Its rule matches too, but its priority 1 is lower than api@file's 38"},
	}
	for router, wants := range rows {
		got := b.Text(`tr[data-router="` + router + `"]`)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s row lacks %q: %q", router, w, got)
			}
		}
	}
	if got := Eval[string](b, `location.hash`); !strings.Contains(got, "url=http") {
		t.Errorf("the address does not keep the question: %s", got)
	}
	b.Screenshot("explain")
	b.CheckOnlyHost(f.API)
}
