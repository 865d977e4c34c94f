package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkLBRemovalDelay measures, through the binary with the default
// health check settings (interval 5s, timeout 2s), the time from a server's
// death (its listener and connections closed) to the API showing it DOWN,
// which is when the balancer stops picking it. Each iteration kills the
// server at an arbitrary point of the check cycle and revives it after.
//
//	go test ./test/e2e -run '^$' -bench LBRemovalDelay -benchtime 8x
func BenchmarkLBRemovalDelay(b *testing.B) {
	dir := b.TempDir()
	web, api := freeAddr(b), freeAddr(b)
	a := startLBBackend(b, "a")
	victim := startLBBackend(b, "victim")
	dynPath := filepath.Join(dir, "dyn.yaml")
	static := filepath.Join(dir, "ferry.yaml")
	lbWrite(b, dynPath, dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
  services:
    app:
      loadBalancer:
        healthCheck:
          path: /health
        servers:
          - url: %q
          - url: %q
`, a.URL, victim.URL))
	lbWrite(b, static, fmt.Sprintf("entryPoints:\n  web:\n    address: %q\nproviders:\n  file:\n    filename: %q\napi:\n  insecure: true\n  address: %q\nlog:\n  level: warn\n", web, dynPath, api))
	startFerryProcess(b, static, "")
	status := func() string {
		resp, err := http.Get("http://" + api + "/api/http/services/app@file")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var s apiService
		_ = json.NewDecoder(resp.Body).Decode(&s)
		return s.ServerStatus[victim.URL]
	}
	wait := func(want string, bound time.Duration) time.Duration {
		start := time.Now()
		for status() != want {
			if time.Since(start) > bound {
				b.Fatalf("server not %s within %s", want, bound)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}
	wait("UP", 15*time.Second)
	var delays []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Kill at a different point of the 5s check cycle each time.
		time.Sleep(time.Duration(i%5)*time.Second + time.Duration(i*317%1000)*time.Millisecond)
		victim.Kill()
		delays = append(delays, wait("DOWN", 15*time.Second))
		victim.Revive()
		wait("UP", 15*time.Second)
	}
	b.StopTimer()
	slices.Sort(delays)
	var sum time.Duration
	for _, d := range delays {
		sum += d
	}
	b.ReportMetric(float64(sum.Milliseconds())/float64(len(delays)), "ms-to-removal-mean")
	b.ReportMetric(float64(delays[len(delays)-1].Milliseconds()), "ms-to-removal-max")
	b.ReportMetric(float64(delays[0].Milliseconds()), "ms-to-removal-min")
}

func lbWrite(tb testing.TB, path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
