package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// TestDockerPropagation measures how long a started container takes to
// serve through Ferry: from the engine's start event to the first 200, over
// 30 sequential starts, and for 50 containers started at once. It prints
// figures and asserts nothing about time. It runs only with
// FERRY_DOCKER_MEASURE=1:
//
//	FERRY_DOCKER_MEASURE=1 go test -count=1 -v -run TestDockerPropagation ./test/e2e/
func TestDockerPropagation(t *testing.T) {
	if os.Getenv("FERRY_DOCKER_MEASURE") == "" {
		t.Skip("set FERRY_DOCKER_MEASURE=1 to measure propagation")
	}
	e := newDockerEnv(t)
	n := e.network("measure")
	f := startDockerFerry(t, e.Host, "    network: "+n)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := e.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("label", dockerRunLabel+"="+e.run))})
	var mu sync.Mutex
	started := map[string]time.Time{}
	startedCh := make(chan string, 128)
	go func() {
		for {
			select {
			case m := <-msgs:
				mu.Lock()
				started[m.Actor.ID] = time.Unix(0, m.TimeNano)
				mu.Unlock()
				startedCh <- m.Actor.ID
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	startTime := func(id string) time.Time {
		mu.Lock()
		defer mu.Unlock()
		return started[id]
	}
	// waitServed polls host every 2ms (bounded) and returns when it answered 200.
	waitServed := func(host string) time.Time {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if res, err := f.Do(http.MethodGet, host, "/", nil); err == nil && res.Status == http.StatusOK {
				return time.Now()
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("%s not served within 30s", host)
		return time.Time{}
	}

	const starts = 30
	var lat []time.Duration
	for i := range starts {
		name := "p" + strconv.Itoa(i)
		c := e.create(ctrSpec{Name: e.name(name), Networks: []string{n}, Labels: appLabels("ferry", name, name+".test")})
		c.start()
		served := waitServed(name + ".test")
		for startTime(c.ID).IsZero() {
			<-startedCh
		}
		lat = append(lat, served.Sub(startTime(c.ID)))
		c.remove()
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1)+0.5)].Round(time.Millisecond) }
	report := fmt.Sprintf("docker propagation, start event → first 200 through Ferry, %d starts: p50 %s, p95 %s, min %s, max %s (merger debounce 100ms)",
		starts, p(0.5), p(0.95), lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	t.Log(report)
	fmt.Println(report)

	const burst = 50
	cs := make([]*ctr, burst)
	for i := range burst {
		name := "b" + strconv.Itoa(i)
		cs[i] = e.create(ctrSpec{Name: e.name(name), Networks: []string{n}, Labels: appLabels("ferry", name, name+".test")})
		defer cs[i].remove()
	}
	begin := time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); c.start() }()
	}
	served := make([]time.Time, burst)
	var pw sync.WaitGroup
	for i := range burst {
		pw.Add(1)
		go func() {
			defer pw.Done()
			host := "b" + strconv.Itoa(i) + ".test"
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				if res, err := f.Do(http.MethodGet, host, "/", nil); err == nil && res.Status == http.StatusOK {
					served[i] = time.Now()
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	pw.Wait()
	wg.Wait()
	var last time.Time
	for i, s := range served {
		if s.IsZero() {
			t.Fatalf("b%d.test not served within 60s", i)
		}
		if s.After(last) {
			last = s
		}
	}
	first, lastStart := time.Time{}, time.Time{}
	for _, c := range cs {
		for startTime(c.ID).IsZero() {
			<-startedCh
		}
		s := startTime(c.ID)
		if first.IsZero() || s.Before(first) {
			first = s
		}
		if s.After(lastStart) {
			lastStart = s
		}
	}
	var each []time.Duration
	for i, c := range cs {
		each = append(each, served[i].Sub(startTime(c.ID)))
	}
	slices.Sort(each)
	q := func(v float64) time.Duration { return each[int(v*float64(len(each)-1)+0.5)].Round(time.Millisecond) }
	report = fmt.Sprintf("docker burst: each container's start event → first 200: p50 %s, p95 %s, max %s (polled every 10ms)",
		q(0.5), q(0.95), each[len(each)-1].Round(time.Millisecond))
	t.Log(report)
	fmt.Println(report)
	report = fmt.Sprintf("docker burst: %d containers started at once: all serve %s after the first start event (%s after the API calls began); "+
		"the engine's start events spread over %s; last start event → all serving %s",
		burst, last.Sub(first).Round(time.Millisecond), last.Sub(begin).Round(time.Millisecond),
		lastStart.Sub(first).Round(time.Millisecond), last.Sub(lastStart).Round(time.Millisecond))
	t.Log(report)
	fmt.Println(report)
}
