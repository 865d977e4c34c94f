package traffic

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestInFlightReq(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	f, err := newInFlightReq(&config.InFlightReq{Amount: 2, SourceCriterion: &config.SourceCriterion{IPStrategy: &config.IPStrategy{}}})
	if err != nil {
		t.Fatal(err)
	}
	h := f.wrap(slow)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { serve(h, "GET", "/", "10.0.0.1:1", nil, nil) })
	}
	<-entered
	<-entered
	if w := serve(h, "GET", "/", "10.0.0.1:2", nil, nil); w.Code != http.StatusTooManyRequests {
		t.Errorf("third concurrent request: %d, want 429", w.Code)
	}
	wg.Go(func() {
		if w := serve(h, "GET", "/", "10.0.0.2:1", nil, nil); w.Code != http.StatusOK {
			t.Errorf("another client: %d, want 200", w.Code)
		}
	})
	<-entered
	close(release)
	wg.Wait()
	if w := serve(h, "GET", "/", "10.0.0.1:3", nil, nil); w.Code != http.StatusOK {
		t.Errorf("after the others finished: %d, want 200", w.Code)
	}
	n := 0
	for i := range f.shards {
		n += len(f.shards[i].counts)
	}
	if n != 0 {
		t.Errorf("%d counters left after all requests finished, want 0", n)
	}
}

func TestInFlightReqErrors(t *testing.T) {
	for _, c := range []config.InFlightReq{{}, {Amount: -1}} {
		_, err := New(&config.Middleware{InFlightReq: &c}, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), "inFlightReq.amount") {
			t.Errorf("amount %d: err = %v", c.Amount, err)
		}
	}
}
