package e2e

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// chaosWatch polls /api/http/services and keeps, per guarded service, the
// first time one of its servers was seen other than UP.
type chaosWatch struct {
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	first map[string]string
}

// watchGuarded starts polling every 100ms until Stop, at most chaosMaxPhase.
func (env *chaosEnv) watchGuarded() *chaosWatch {
	w := &chaosWatch{stop: make(chan struct{}), done: make(chan struct{}), first: map[string]string{}}
	start := time.Now()
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for time.Since(start) < chaosMaxPhase {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			var list []apiService
			if err := env.f.lbTryAPI("/api/http/services", &list); err != nil {
				continue
			}
			w.observe(list, time.Since(start))
		}
	}()
	return w
}

func (w *chaosWatch) observe(list []apiService, at time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range list {
		if !strings.HasPrefix(s.Name, "g-") || w.first[s.Name] != "" {
			continue
		}
		for url, status := range s.ServerStatus {
			if status != "UP" {
				w.first[s.Name] = fmt.Sprintf("at t+%.1fs server %s was %s (last error: %q)",
					at.Seconds(), url, status, s.ServerHealth[url].LastError)
			}
		}
	}
}

// First returns the first observation of service (name@file) with a server
// not UP, "" when none.
func (w *chaosWatch) First(service string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first[service]
}

// Stop ends the polling.
func (w *chaosWatch) Stop() {
	close(w.stop)
	<-w.done
}
