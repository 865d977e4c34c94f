package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promJob is the job name of the Prometheus scrape config that reads Ferry.
const promJob = "ferry"

// promServer is a real Prometheus server, started by the test on a
// loopback port with its own configuration and storage, scraping one
// Ferry metrics address.
type promServer struct {
	t *testing.T
	// URL is the base URL of its HTTP API, http://127.0.0.1:port.
	URL string
	// Target is the host:port it scrapes (path /metrics).
	Target string
	// Interval is the scrape interval.
	Interval time.Duration

	client *http.Client
}

// prometheusBin returns the Prometheus server binary: $FERRY_PROMETHEUS_BIN,
// else prometheus from PATH. Without one the test is skipped, or fails when
// FERRY_PROMETHEUS_REQUIRED is set (make e2e sets it after
// test/prometheus/ensure-prometheus.sh).
func prometheusBin(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("FERRY_PROMETHEUS_BIN"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("prometheus")
	if err == nil {
		return bin
	}
	if os.Getenv("FERRY_PROMETHEUS_REQUIRED") != "" {
		t.Fatalf("no Prometheus server: FERRY_PROMETHEUS_BIN is unset and %v", err)
	}
	t.Skip("no Prometheus server: run test/prometheus/ensure-prometheus.sh (make e2e does) or set FERRY_PROMETHEUS_BIN")
	return ""
}

// startPrometheus starts Prometheus scraping http://target/metrics every
// interval (honor_labels on, job "ferry"), waits until /-/ready answers and
// stops it when the test ends; its log is printed if the test failed.
func startPrometheus(t *testing.T, target string, interval time.Duration) *promServer {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	config := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: %[2]s
    honor_labels: true
    metrics_path: /metrics
    static_configs:
      - targets: [%[3]q]
`, interval, promJob, target)
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startProcess(t, "prometheus", nil, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	p := &promServer{t: t, URL: "http://" + addr, Target: target, Interval: interval,
		client: &http.Client{Timeout: 10 * time.Second}}
	t.Cleanup(p.client.CloseIdleConnections)
	waitFor(t, 30*time.Second, "prometheus /-/ready", func() (bool, string) {
		resp, err := p.client.Get(p.URL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("status %d: %s", resp.StatusCode, body)
	})
	return p
}

// promSample is one element of an instant vector.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// promResult is the answer to an instant query: a vector or a scalar.
type promResult struct {
	Type   string // "vector" or "scalar"
	Vector []promSample
	Scalar float64
}

// query evaluates expr now through /api/v1/query.
func (p *promServer) query(expr string) (promResult, error) {
	resp, err := p.client.Get(p.URL + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return promResult{}, fmt.Errorf("prometheus query %s: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return promResult{}, fmt.Errorf("prometheus query %s: read: %w", expr, err)
	}
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return promResult{}, fmt.Errorf("prometheus query %s: decode: %w: %s", expr, err, body)
	}
	if ans.Status != "success" {
		return promResult{}, fmt.Errorf("prometheus query %s: %s: %s", expr, ans.Status, ans.Error)
	}
	res := promResult{Type: ans.Data.ResultType}
	switch res.Type {
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(ans.Data.Result, &pair); err != nil {
			return promResult{}, fmt.Errorf("prometheus query %s: scalar: %w", expr, err)
		}
		res.Scalar, err = promFloat(pair[1])
	case "vector":
		var list []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(ans.Data.Result, &list); err != nil {
			return promResult{}, fmt.Errorf("prometheus query %s: vector: %w", expr, err)
		}
		for _, s := range list {
			v, err := promFloat(s.Value[1])
			if err != nil {
				return promResult{}, fmt.Errorf("prometheus query %s: %w", expr, err)
			}
			res.Vector = append(res.Vector, promSample{Metric: s.Metric, Value: v})
		}
	default:
		err = fmt.Errorf("prometheus query %s: result type %q, want vector or scalar", expr, res.Type)
	}
	return res, err
}

// promFloat decodes a sample value, which the API sends as a string.
func promFloat(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v)
	}
	return strconv.ParseFloat(s, 64)
}

// value evaluates expr, which must give a scalar or at most one sample; ok
// is false when the vector is empty.
func (p *promServer) value(expr string) (v float64, ok bool, err error) {
	res, err := p.query(expr)
	switch {
	case err != nil:
		return 0, false, err
	case res.Type == "scalar":
		return res.Scalar, true, nil
	case len(res.Vector) == 0:
		return 0, false, nil
	case len(res.Vector) > 1:
		return 0, false, fmt.Errorf("prometheus query %s: %d samples, want one: %s", expr, len(res.Vector), formatSamples(res.Vector))
	}
	return res.Vector[0].Value, true, nil
}

// vector evaluates expr and fails the test unless it gives a vector.
func (p *promServer) vector(expr string) []promSample {
	p.t.Helper()
	res, err := p.query(expr)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.Type != "vector" {
		p.t.Fatalf("prometheus query %s: %s, want a vector", expr, res.Type)
	}
	return res.Vector
}

// waitValue polls until expr gives exactly want (one sample or a scalar)
// and fails the test after timeout.
func (p *promServer) waitValue(expr string, want float64, timeout time.Duration) {
	p.t.Helper()
	p.waitCond(expr, timeout, fmt.Sprint(want), func(v float64, ok bool) bool { return ok && v == want })
}

// waitAtLeast polls until expr gives at least min.
func (p *promServer) waitAtLeast(expr string, min float64, timeout time.Duration) {
	p.t.Helper()
	p.waitCond(expr, timeout, fmt.Sprint(">= ", min), func(v float64, ok bool) bool { return ok && v >= min })
}

func (p *promServer) waitCond(expr string, timeout time.Duration, want string, cond func(v float64, ok bool) bool) {
	p.t.Helper()
	waitFor(p.t, timeout, fmt.Sprintf("prometheus: %s = %s", expr, want), func() (bool, string) {
		v, ok, err := p.value(expr)
		switch {
		case err != nil:
			return false, err.Error()
		case !ok:
			return cond(0, false), "no sample"
		}
		return cond(v, true), fmt.Sprint(v)
	})
}

// lastScrape returns the time of the newest scrape of Ferry that Prometheus
// stored (the timestamp of its up sample), or the zero time.
func (p *promServer) lastScrape() time.Time {
	p.t.Helper()
	v, ok, err := p.value(fmt.Sprintf(`timestamp(up{job=%q})`, promJob))
	if err != nil {
		p.t.Fatal(err)
	}
	if !ok {
		return time.Time{}
	}
	return time.UnixMilli(int64(v * 1000))
}

// waitScrapeAfter waits for a scrape of Ferry that started after t and
// returns its time.
func (p *promServer) waitScrapeAfter(t time.Time) time.Time {
	p.t.Helper()
	var last time.Time
	waitFor(p.t, 5*p.Interval+5*time.Second, "a scrape after "+t.Format(time.StampMilli), func() (bool, string) {
		last = p.lastScrape()
		return last.After(t), "last scrape at " + last.Format(time.StampMilli)
	})
	return last
}

// waitUp waits until Prometheus scraped Ferry successfully.
func (p *promServer) waitUp() {
	p.t.Helper()
	p.waitValue(fmt.Sprintf(`up{job=%q}`, promJob), 1, 5*p.Interval+10*time.Second)
}

// formatSamples prints samples one a line, for failure messages.
func formatSamples(list []promSample) string {
	var b strings.Builder
	for _, s := range list {
		fmt.Fprintf(&b, "\n  %v %g", s.Metric, s.Value)
	}
	return b.String()
}

// withPrometheusMetrics returns o with a static configuration that adds
// metrics.prometheus, whose keys are the YAML lines prom (indented by four
// spaces), to the default one o renders.
func withPrometheusMetrics(o Options, prom string) Options {
	base := o
	o.Static = func(f *Ferry) string {
		b := base
		b.Static = nil
		return f.staticConfig(b) + "metrics:\n  prometheus:\n" + prom
	}
	return o
}

// startMetricsFerry starts Ferry with Prometheus metrics (prom: YAML lines
// under metrics.prometheus, indented by four spaces) served on a plain
// address, and a Prometheus scraping it every second; it returns once
// Prometheus scraped Ferry successfully.
func startMetricsFerry(t *testing.T, o Options, prom string) (*Ferry, *promServer) {
	t.Helper()
	prometheusBin(t) // skip before starting anything
	addr := freeAddr(t)
	f := StartFerry(t, withPrometheusMetrics(o, fmt.Sprintf("    address: %q\n", addr)+prom))
	p := startPrometheus(t, addr, time.Second)
	p.waitUp()
	return f, p
}
