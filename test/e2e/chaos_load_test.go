package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// chaosMaxRequests bounds the requests of one worker in one phase.
	chaosMaxRequests = 2_000_000
	// chaosMaxPhase bounds how long the load of one phase can run.
	chaosMaxPhase = 3 * time.Minute
	// chaosSamples is how many failures are kept, with their details.
	chaosSamples = 12
)

// chaosWorker is one keep-alive client of the load: it requests its hosts
// in turn, each as soon as the previous answer arrived (wrk-style), or
// every Pace when set.
type chaosWorker struct {
	Hosts []string
	Pace  time.Duration
	// Strict: a failure fails the phase. Otherwise the hosts are the ones
	// the phase disturbs, and failures are only counted.
	Strict bool
}

// chaosLoad is the load of one phase: workers sending GET / through the
// entry point until stopped, counting answers.
type chaosLoad struct {
	addr  string
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	// storeDown is set while a store is killed: failures of disturbed
	// hosts then count as strict failures (its last routes must serve).
	storeDown atomic.Bool

	mu sync.Mutex
	r  chaosLoadResult
}

// chaosLoadResult are the counts of a load.
type chaosLoadResult struct {
	// Requests, Non2xx and Errors count the strict workers' requests, their
	// non-2xx answers and their transport errors.
	Requests, Non2xx, Errors int
	// Disturbed counts the disturbed hosts' requests, DisturbedFailed
	// their non-2xx answers and errors.
	Disturbed, DisturbedFailed int
	// Causes counts failures by "host: status" or "host: error".
	Causes map[string]int
	// Samples are the first failures, with their time and answer.
	Samples []string
}

// startChaosLoad starts the workers against addr (host:port).
func startChaosLoad(addr string, workers []chaosWorker) *chaosLoad {
	l := &chaosLoad{addr: addr, start: time.Now(), stop: make(chan struct{}), r: chaosLoadResult{Causes: map[string]int{}}}
	for i, w := range workers {
		l.wg.Add(1)
		go l.work(i, w)
	}
	return l
}

func (l *chaosLoad) work(i int, w chaosWorker) {
	defer l.wg.Done()
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, ResponseHeaderTimeout: waitTimeout}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: waitTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := l.start.Add(chaosMaxPhase)
	for n := 0; n < chaosMaxRequests && time.Now().Before(deadline); n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		host := w.Hosts[(i+n)%len(w.Hosts)]
		down := l.storeDown.Load()
		status, detail := l.get(client, host)
		l.count(w.Strict || (down && l.storeDown.Load()), w.Strict, host, status, detail)
		if w.Pace > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(w.Pace):
			}
		}
	}
}

// get sends one GET / for host and returns the status (0 on a transport
// error) and, for failures, what came back.
func (l *chaosLoad) get(client *http.Client, host string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, "http://"+l.addr+"/", nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "read body: " + err.Error()
	}
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, strings.TrimSpace(string(body[:min(len(body), 120)]))
}

// count records one answer; strict failures fail the phase.
func (l *chaosLoad) count(strict, strictHost bool, host string, status int, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strictHost {
		l.r.Requests++
	} else {
		l.r.Disturbed++
	}
	if status/100 == 2 {
		return
	}
	cause := fmt.Sprintf("%s: status %d", host, status)
	switch {
	case !strict:
		l.r.DisturbedFailed++
		cause += " (disturbed)"
	case status == 0:
		l.r.Errors++
		cause = host + ": transport error"
	default:
		l.r.Non2xx++
	}
	if !strictHost && strict {
		cause += " (while its store was down)"
	}
	l.r.Causes[cause]++
	if len(l.r.Samples) < chaosSamples {
		l.r.Samples = append(l.r.Samples, fmt.Sprintf("t+%.2fs %s %q", time.Since(l.start).Seconds(), cause, detail))
	}
}

// Stop ends the workers once every one has returned and reports the counts.
func (l *chaosLoad) Stop() chaosLoadResult {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r
}

// Snapshot returns the counts so far.
func (l *chaosLoad) Snapshot() chaosLoadResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.r
	r.Causes = map[string]int{}
	for k, v := range l.r.Causes {
		r.Causes[k] = v
	}
	return r
}

// causes lists the failure causes, most frequent first.
func (r chaosLoadResult) causes() string {
	keys := make([]string, 0, len(r.Causes))
	for k := range r.Causes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r.Causes[keys[i]] != r.Causes[keys[j]] {
			return r.Causes[keys[i]] > r.Causes[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %6d × %s", r.Causes[k], k)
	}
	return b.String()
}
