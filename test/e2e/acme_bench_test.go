package e2e

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkACMEIssuance measures, through the real binary and Pebble, the
// time from routers with tls.certResolver appearing in the configuration
// to the first and to the last of their names answering HTTPS with a valid
// certificate. Each iteration adds new names.
//
//	go test -run '^$' -bench ACMEIssuance -benchtime 1x ./test/e2e/
func BenchmarkACMEIssuance(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("names=%d", n), func(b *testing.B) {
			backend := acmeBackend(b, "app")
			hosts := map[string]string{}
			f, ca := newACMEFerryFiles(b, func(web, secure string) *pebbleCA {
				return startPebble(b, web, secure)
			}, "", acmeRouters(backend, hosts))
			f.start()
			var first, all time.Duration
			for i := 0; b.Loop(); i++ {
				names := make([]string, n)
				for j := range names {
					names[j] = fmt.Sprintf("n%d-%d.ferry.test", i, j)
					hosts[names[j]] = "pebble-http"
				}
				start := time.Now()
				f.writeDynamic(acmeRouters(backend, hosts))
				pending := map[string]bool{}
				for _, name := range names {
					pending[name] = true
				}
				var firstAt time.Duration
				for len(pending) > 0 {
					if time.Since(start) > 5*time.Minute {
						b.Fatalf("%d names still without a certificate after 5m", len(pending))
					}
					for name := range pending {
						if chain, err := f.handshake(name); err == nil && verifyChain(chain, ca.Roots, name) == nil {
							delete(pending, name)
							if firstAt == 0 {
								firstAt = time.Since(start)
							}
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
				first += firstAt
				all += time.Since(start)
			}
			b.ReportMetric(first.Seconds()/float64(b.N), "s/first-valid")
			b.ReportMetric(all.Seconds()/float64(b.N), "s/all-valid")
		})
	}
}
