package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scaleRouters is how many routers TestMetricsScrapeScale configures.
const scaleRouters = 10_000

// TestMetricsScrapeScale measures the cost of a scrape with 10,000 routers
// (each with its own service) and addRoutersLabels on, after one request
// through each: the size of /metrics (plain and gzip) and the time to
// serve it, from Ferry directly and as a real Prometheus sees it. It runs
// when FERRY_E2E_SCALE is set; the figures are logged, not asserted.
func TestMetricsScrapeScale(t *testing.T) {
	if os.Getenv("FERRY_E2E_SCALE") == "" {
		t.Skip("set FERRY_E2E_SCALE=1 to scrape 10,000 routers")
	}
	prometheusBin(t)
	b := StartBackend(t, "b", nil)
	var cfg strings.Builder
	cfg.WriteString("http:\n  routers:\n")
	for i := range scaleRouters {
		fmt.Fprintf(&cfg, "    r%05d:\n      rule: \"Host(`r%05d.test`)\"\n      service: s%05d\n", i, i, i)
	}
	cfg.WriteString("  services:\n")
	for i := range scaleRouters {
		fmt.Fprintf(&cfg, "    s%05d:\n      loadBalancer:\n        servers: [{url: %q}]\n", i, b.URL)
	}
	addr := freeAddr(t)
	f := StartFerry(t, withPrometheusMetrics(Options{Dynamic: cfg.String()},
		fmt.Sprintf("    address: %q\n    addRoutersLabels: true\n", addr)))
	f.waitRouteWithin(fmt.Sprintf("r%05d.test", scaleRouters-1), "/", http.StatusOK, "b", time.Minute)

	start := time.Now()
	var wg sync.WaitGroup
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w; i < scaleRouters; i += workers {
				if res, err := f.Do(http.MethodGet, fmt.Sprintf("r%05d.test", i), "/", nil); err != nil || res.Status != http.StatusOK {
					t.Errorf("router r%05d: %v %v", i, res, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("traffic: %d requests, one per router, in %s", scaleRouters, time.Since(start).Round(time.Millisecond))

	// Scrapes alternate between plain and gzip, three of each; Ferry's CPU
	// time per scrape is read from /proc, the wall time is the client's.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	pid := f.cmd.Process.Pid
	type figures struct {
		wall, cpu   []time.Duration
		wire, plain int
	}
	results := map[string]*figures{"identity": {}, "gzip": {}}
	for range 3 {
		for _, enc := range []string{"identity", "gzip"} {
			r := results[enc]
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
			req.Header.Set("Accept-Encoding", enc)
			cpu0, began := processCPU(t, pid), time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("scrape: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.wall, r.cpu = append(r.wall, time.Since(began)), append(r.cpu, processCPU(t, pid)-cpu0)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("scrape: %d %v", resp.StatusCode, err)
			}
			r.wire, r.plain = len(body), len(body)
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				raw, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				r.plain = len(raw)
			}
		}
	}
	for _, enc := range []string{"identity", "gzip"} {
		r := results[enc]
		slices.Sort(r.wall)
		slices.Sort(r.cpu)
		t.Logf("scrape (%s): %d bytes on the wire (%.1f MiB; %.1f MiB of text), wall min %s median %s, ferry CPU min %s median %s",
			enc, r.wire, float64(r.wire)/(1<<20), float64(r.plain)/(1<<20),
			r.wall[0].Round(time.Millisecond), r.wall[1].Round(time.Millisecond),
			r.cpu[0].Round(time.Millisecond), r.cpu[1].Round(time.Millisecond))
	}

	// A real Prometheus, scraping every 15 s (its default): what a scrape
	// takes as it sees it.
	p := startPrometheus(t, addr, 15*time.Second)
	p.waitValue(fmt.Sprintf(`up{job=%q}`, promJob), 1, 3*time.Minute)
	p.waitValue(`count(ferry_router_requests_total)`, scaleRouters, time.Minute)
	p.waitValue(`count(ferry_service_requests_total)`, scaleRouters, time.Minute)
	// The first scrape also creates every series in Prometheus; the next
	// one is a steady-state scrape.
	for scrape := 1; scrape <= 2; scrape++ {
		if scrape > 1 {
			p.waitScrapeAfter(p.lastScrape())
		}
		var line []string
		for _, expr := range []string{`scrape_duration_seconds`, `scrape_samples_scraped`, `scrape_series_added`} {
			v, _, err := p.value(fmt.Sprintf(`%s{job=%q}`, expr, promJob))
			if err != nil {
				t.Fatal(err)
			}
			line = append(line, fmt.Sprintf("%s %g", expr, v))
		}
		t.Logf("prometheus, scrape %d: %s", scrape, strings.Join(line, ", "))
	}
	if rss, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(rss), "\n") {
			if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
				t.Logf("ferry %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}
}

// processCPU returns the user and system CPU time process pid used so far
// (/proc/<pid>/stat, in clock ticks of 10 ms).
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	var utime, stime int64
	if _, err := fmt.Sscan(fields[11], &utime); err != nil {
		t.Fatalf("utime in %s: %v", stat, err)
	}
	if _, err := fmt.Sscan(fields[12], &stime); err != nil {
		t.Fatalf("stime in %s: %v", stat, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
