package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// promWait bounds the waits for a value to reach Prometheus: a rebuild,
// then a scrape every second, on a loaded machine.
const promWait = 15 * time.Second

// orZero makes a sum over no series read as 0 instead of no sample.
func orZero(expr string) string { return "sum(" + expr + ") or vector(0)" }

// appDynamic is a dynamic configuration with the router app (Host
// app.test, entry point web) to the service app on url, more routers (YAML lines under
// http.routers) and more (YAML appended: lines under http, then top-level
// sections); single quotes become backticks, as with dyn.
func appDynamic(url, routers, more string) string {
	return strings.ReplaceAll(fmt.Sprintf(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
      entryPoints: [web]
%s  services:
    app:
      loadBalancer:
        servers: [{url: %q}]
%s`, routers, url, more), "'", "`")
}

func TestMetricsRequestsByCodeRouterAndService(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	var refused atomic.Int64
	refusing := startTCPServer(t, listenLoopback(t), func(c net.Conn) {
		refused.Add(1)
		_ = c.(*net.TCPConn).SetLinger(0) // the close resets the connection
	})
	f, p := startMetricsFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    probe:
      rule: "Host('probe.test')"
      service: probe
    app:
      rule: "Host('app.test')"
      service: app
    odd:
      rule: "Host('odd.test')"
      service: odd
    dead:
      rule: "Host('dead.test')"
      service: dead
    retried:
      rule: "Host('retry.test')"
      service: flaky
      middlewares: [retry]
  middlewares:
    retry:
      retry:
        attempts: 2
        initialInterval: 10ms
  services:
    probe:
      loadBalancer:
        servers: [{url: %[1]q}]
    app:
      loadBalancer:
        servers: [{url: %[1]q}]
    odd:
      loadBalancer:
        servers: [{url: %[1]q}]
    dead:
      loadBalancer:
        servers: [{url: %[2]q}]
    flaky:
      loadBalancer:
        servers:
          - url: "http://%[3]s"
          - url: %[1]q
`, b.URL, closedURL(t), refusing.Addr)}, `    addRoutersLabels: true
    buckets: [0.05, 0.5]
`)
	// The routers under test get no traffic before the counted requests:
	// probe.test, from the same file, tells that the table is live.
	f.WaitRoute("probe.test", "/", http.StatusOK, "b")

	for i := range 100 {
		path, want := "/", http.StatusOK
		if i%10 >= 7 {
			path, want = "/status/404", http.StatusNotFound
		}
		if res := f.Get("app.test", path); res.Status != want {
			t.Fatalf("GET %d app.test%s: %d, want %d", i, path, res.Status, want)
		}
	}
	for range 3 {
		mwDo(f, "PURGE", "odd.test", "/", nil)
	}
	for i := range 5 {
		if res := f.Get("dead.test", "/"); res.Status != http.StatusBadGateway {
			t.Fatalf("GET %d to a dead server: %d, want 502", i, res.Status)
		}
	}
	// With two servers the refusing one is met within a few requests; each
	// of its refusals must have been retried onto b.
	sent := 0
	for ; sent < 10 && refused.Load() == 0; sent++ {
		if res := f.Get("retry.test", "/"); res.Status != http.StatusOK || res.Backend() != "b" {
			t.Fatalf("GET %d with retry: %d from %q, want 200 from b", sent, res.Status, res.Backend())
		}
	}
	retries := refused.Load()
	if retries == 0 {
		t.Fatal("the refusing server was never tried: the retry is not tested")
	}

	p.waitValue(`sum(ferry_router_requests_total{router="app@file"})`, 100, promWait)
	p.waitValue(`sum(ferry_service_requests_total{service="app@file"})`, 100, promWait)
	for _, expr := range []string{`ferry_router_requests_total{router="app@file"}`, `ferry_service_requests_total{service="app@file"}`} {
		byCode := map[string]float64{}
		for _, s := range p.vector(expr) {
			if s.Metric["method"] != "GET" || s.Metric["protocol"] != "http" || s.Metric["service"] != "app@file" {
				t.Errorf("%s: series %v, want method GET, protocol http, service app@file", expr, s.Metric)
			}
			byCode[s.Metric["code"]] += s.Value
		}
		if byCode["200"] != 70 || byCode["404"] != 30 || len(byCode) != 2 {
			t.Errorf("%s: requests by code %v, want 70×200 and 30×404", expr, byCode)
		}
	}
	p.waitValue(`sum(ferry_router_request_duration_seconds_count{router="app@file"})`, 100, promWait)
	p.waitValue(`sum(ferry_service_request_duration_seconds_count{service="app@file"})`, 100, promWait)
	if les := p.vector(`count by (le) (ferry_router_request_duration_seconds_bucket{router="app@file"})`); len(les) != 3 {
		t.Errorf("duration buckets %s, want le 0.05, 0.5 and +Inf", formatSamples(les))
	}
	p.waitAtLeast(`sum(ferry_router_responses_bytes_total{router="app@file"})`, 1, promWait)
	p.waitAtLeast(`sum(ferry_entrypoint_requests_total{entrypoint="web",code="404"})`, 30, promWait)

	p.waitValue(`sum(ferry_router_requests_total{router="odd@file",method="OTHER"})`, 3, promWait)
	p.waitValue(`sum(ferry_router_requests_total{router="dead@file",service="dead@file",code="502"})`, 5, promWait)
	p.waitValue(`sum(ferry_service_requests_total{service="dead@file",code="502"})`, 5, promWait)
	p.waitValue(`sum(ferry_service_retries_total{service="flaky@file"})`, float64(retries), promWait)
	p.waitValue(`sum(ferry_router_requests_total{router="retried@file",code="200"})`, float64(sent), promWait)
	if got := p.vector(`ferry_router_requests_total{router="retried@file",code!="200"}`); len(got) != 0 {
		t.Errorf("the retried requests must count once, as answered: %s", formatSamples(got))
	}
}

func TestMetricsConfigObjectsDisabledRouter(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	config := func(rule string) string {
		return appDynamic(b.URL, fmt.Sprintf("    shaky:\n      rule: %q\n      service: app\n", rule), "")
	}
	start := time.Now()
	f, p := startMetricsFerry(t, Options{Dynamic: config("Host('shaky.test'")}, "")
	f.WaitRoute("app.test", "/", http.StatusOK, "b")

	disabled := orZero(`ferry_config_objects{kind="router",status="disabled",provider="file"}`)
	enabled := orZero(`ferry_config_objects{kind="router",status="enabled",provider="file"}`)
	p.waitValue(disabled, 1, promWait)
	p.waitValue(enabled, 1, promWait)
	p.waitValue(orZero(`ferry_config_objects{kind="service",status="enabled",provider="file"}`), 1, promWait)
	p.waitAtLeast(`ferry_config_reloads_total`, 1, promWait)
	p.waitAtLeast(`ferry_config_last_reload_success`, float64(start.Unix()), promWait)
	p.waitAtLeast(`ferry_provider_last_update_timestamp{provider="file"}`, float64(start.Unix()), promWait)
	reloads, _, err := p.value(`ferry_config_reloads_total`)
	if err != nil {
		t.Fatal(err)
	}

	fixed := time.Now()
	f.WriteDynamic(config("Host('shaky.test')"))
	f.WaitRoute("shaky.test", "/", http.StatusOK, "b")
	p.waitValue(disabled, 0, promWait)
	p.waitValue(enabled, 2, promWait)
	p.waitAtLeast(`ferry_config_reloads_total`, reloads+1, promWait)
	p.waitAtLeast(`ferry_config_last_reload_success`, float64(fixed.Unix()), promWait)

	// A file that stops parsing is a provider error; what it had keeps serving.
	errs := orZero(`ferry_provider_errors_total{provider="file"}`)
	errs0, _, err := p.value(errs)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteDynamic("http: [unclosed\n")
	p.waitAtLeast(errs, errs0+1, promWait)
	p.waitValue(enabled, 2, promWait)
	p.waitValue(disabled, 0, promWait)
}

func TestMetricsRouterRemovedWithinOneScrape(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	const both = `
http:
  routers:
    keep:
      rule: "Host('keep.test')"
      service: keep
    gone:
      rule: "Host('gone.test')"
      service: gone
  services:
    keep:
      loadBalancer:
        servers: [{url: %[1]q}]
    gone:
      loadBalancer:
        servers: [{url: %[1]q}]
`
	f, p := startMetricsFerry(t, Options{Dynamic: dyn(both, b.URL)}, "    addRoutersLabels: true\n")
	f.WaitRoute("keep.test", "/", http.StatusOK, "b")
	f.WaitRoute("gone.test", "/", http.StatusOK, "b")
	series := []string{
		`ferry_router_requests_total{router="gone@file"}`,
		`ferry_router_request_duration_seconds_count{router="gone@file"}`,
		`ferry_service_requests_total{service="gone@file"}`,
		`ferry_service_responses_bytes_total{service="gone@file"}`,
	}
	for _, s := range series {
		p.waitAtLeast("sum("+s+")", 1, promWait)
	}

	f.WriteDynamic(dyn(strings.Replace(both, `    gone:
      rule: "Host('gone.test')"
      service: gone
`, "", 1), b.URL))
	waitFor(t, waitTimeout, "gone@file leaves the API", func() (bool, string) {
		status, _ := routerStatus(f, "gone@file")
		return status == "absent", status
	})
	applied := time.Now()
	// The service, now unused, is still configured: its series stay. The
	// router's go with the first scrape after the table changed.
	at := p.waitScrapeAfter(applied)
	for _, s := range series[:2] {
		if got := p.vector(s); len(got) != 0 {
			t.Errorf("%s: still there in the first scrape after the router left (applied %s, scrape %s): %s",
				s, applied.Format(time.StampMilli), at.Format(time.StampMilli), formatSamples(got))
		}
	}
	if got := p.vector(`ferry_router_requests_total{router="keep@file"}`); len(got) == 0 {
		t.Error("keep@file lost its series with gone@file")
	}

	// Removing the service too removes its series in the same way.
	f.WriteDynamic(dyn(`
http:
  routers:
    keep:
      rule: "Host('keep.test')"
      service: keep
  services:
    keep:
      loadBalancer:
        servers: [{url: %q}]
`, b.URL))
	waitFor(t, waitTimeout, "gone@file service leaves the API", func() (bool, string) {
		var list []apiService
		f.APIGet("/api/http/services", &list)
		for _, s := range list {
			if s.Name == "gone@file" {
				return false, "present"
			}
		}
		return true, ""
	})
	applied = time.Now()
	at = p.waitScrapeAfter(applied)
	for _, s := range series[2:] {
		if got := p.vector(s); len(got) != 0 {
			t.Errorf("%s: still there in the first scrape after the service left (applied %s, scrape %s): %s",
				s, applied.Format(time.StampMilli), at.Format(time.StampMilli), formatSamples(got))
		}
	}
}

func TestMetricsHealthCheckServerUp(t *testing.T) {
	t.Parallel()
	a, b := startLBBackend(t, "a"), startLBBackend(t, "b")
	f, p := startMetricsFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    hc:
      rule: "Host('hc.test')"
      service: hc
  services:
    hc:
      loadBalancer:
        servers:
          - url: %q
          - url: %q
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 500ms
`, a.URL, b.URL)}, "")
	f.WaitRoute("hc.test", "/", http.StatusOK, "")
	upA := fmt.Sprintf(`ferry_service_server_up{service="hc@file",url=%q}`, a.URL)
	p.waitValue(upA, 1, promWait)
	p.waitValue(fmt.Sprintf(`ferry_service_server_up{service="hc@file",url=%q}`, b.URL), 1, promWait)
	transitions := func(to string) string {
		return orZero(fmt.Sprintf(`ferry_health_check_transitions_total{service="hc@file",url=%q,to=%q}`, a.URL, to))
	}
	down0, _, err := p.value(transitions("DOWN"))
	if err != nil {
		t.Fatal(err)
	}
	up0, _, err := p.value(transitions("UP"))
	if err != nil {
		t.Fatal(err)
	}

	a.Kill()
	f.lbWaitServer("hc@file", a.URL, "DOWN")
	p.waitValue(upA, 0, promWait)
	p.waitValue(transitions("DOWN"), down0+1, promWait)

	a.Revive()
	f.lbWaitServer("hc@file", a.URL, "UP")
	p.waitValue(upA, 1, promWait)
	p.waitValue(transitions("UP"), up0+1, promWait)
	p.waitValue(transitions("DOWN"), down0+1, promWait)
}

func TestMetricsOpenConnectionsAndDefaultLabels(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	echo := startEchoServer(t)
	raw := freeAddr(t)
	f, p := startMetricsFerry(t, Options{
		EntryPoints: fmt.Sprintf("  raw:\n    address: %q\n", raw),
		Dynamic: appDynamic(b.URL, "", fmt.Sprintf(`tcp:
  routers:
    raw:
      rule: "HostSNI('*')"
      entryPoints: [raw]
      service: echo
  services:
    echo:
      loadBalancer:
        servers: [{address: %q}]
`, echo.Addr)),
	}, "")
	f.WaitRoute("app.test", "/", http.StatusOK, "b")
	f.WaitTCPRouters("raw@file")
	f.client.CloseIdleConnections()
	openHTTP := orZero(`ferry_open_connections{entrypoint="web",protocol="HTTP"}`)
	openTCP := orZero(`ferry_open_connections{entrypoint="raw",protocol="TCP"}`)
	p.waitValue(openHTTP, 0, promWait)
	p.waitValue(openTCP, 0, promWait)

	const held = 5
	var conns []net.Conn
	dial := func(addr string) net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		return c
	}
	for i := range held {
		c := dial(f.Web)
		if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("keep-alive connection %d: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("keep-alive connection %d: status %d, close %v; want 200 kept open", i, res.StatusCode, res.Close)
		}
	}
	for i := range held - 2 {
		if got := readLine(t, dial(raw)); got+"\n" != echoGreeting {
			t.Fatalf("TCP connection %d: got %q, want the echo server's greeting", i, got)
		}
	}
	p.waitValue(openHTTP, held, promWait)
	p.waitValue(openTCP, held-2, promWait)
	for _, c := range conns {
		c.Close()
	}
	p.waitValue(openHTTP, 0, promWait)
	p.waitValue(openTCP, 0, promWait)

	// Default label sets: entry points and services, not routers.
	p.waitAtLeast(`sum(ferry_entrypoint_requests_total{entrypoint="web",code="200",method="GET",protocol="http"})`, held+1, promWait)
	p.waitAtLeast(`sum(ferry_service_requests_total{service="app@file"})`, held+1, promWait)
	if got := p.vector(`{__name__=~"ferry_router_.*"}`); len(got) != 0 {
		t.Errorf("router series without addRoutersLabels: %s", formatSamples(got))
	}
}

func TestMetricsTLSRequestsAndCertificates(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	cert, certPath, keyPath := selfSigned(t, t.TempDir(), "secure.test", "www.secure.test")
	f, p := startMetricsFerry(t, Options{Dynamic: appDynamic(b.URL, `    secure:
      rule: "Host('secure.test')"
      service: app
      tls: {}
`, fmt.Sprintf("tls:\n  certificates:\n    - certFile: %q\n      keyFile: %q\n", certPath, keyPath))},
		"    addRoutersLabels: true\n")
	// app.test, from the same file, tells that the router and the
	// certificate are live; the TLS requests counted are only these.
	f.WaitRoute("app.test", "/", http.StatusOK, "b")
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, f.Web) // every name resolves to ferry
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	const sent = 4
	var cipher string
	for i := range sent {
		resp, err := client.Get("https://secure.test/")
		if err != nil {
			t.Fatalf("GET %d https://secure.test/: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "b" {
			t.Fatalf("GET %d https://secure.test/: %d from %q", i, resp.StatusCode, resp.Header.Get("X-Backend"))
		}
		cipher = tls.CipherSuiteName(resp.TLS.CipherSuite)
	}

	for _, expr := range []string{
		`ferry_entrypoint_requests_tls_total{entrypoint="web"}`,
		`ferry_router_requests_tls_total{router="secure@file",service="app@file"}`,
		`ferry_service_requests_tls_total{service="app@file"}`,
	} {
		p.waitValue("sum("+expr+")", sent, promWait)
		for _, s := range p.vector(expr) {
			if s.Metric["tls_version"] != "1.3" || s.Metric["tls_cipher"] != cipher {
				t.Errorf("%s: series %v, want tls_version 1.3 and tls_cipher %s", expr, s.Metric, cipher)
			}
		}
	}
	p.waitValue(`sum(ferry_router_requests_total{router="secure@file",code="200"})`, sent, promWait)

	notAfter := `ferry_tls_certs_not_after{cn="secure.test"}`
	p.waitValue(notAfter, float64(cert.NotAfter.Unix()), promWait)
	for _, s := range p.vector(notAfter) {
		if s.Metric["sans"] != "secure.test,www.secure.test" || s.Metric["serial"] != cert.SerialNumber.String() {
			t.Errorf("%s: series %v, want sans secure.test,www.secure.test and serial %s", notAfter, s.Metric, cert.SerialNumber)
		}
	}
}
