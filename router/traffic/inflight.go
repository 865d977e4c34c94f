package traffic

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"

	"github.com/ferryproxy/ferry/router/config"
)

// ifShards splits the counters so concurrent clients rarely share a lock.
const ifShards = 16

// inFlight bounds the number of requests each client has in progress.
// Counters exist only while a client has requests in progress, so memory
// is bounded by the number of concurrent requests.
type inFlight struct {
	amount int
	key    *sourceKey
	seed   maphash.Seed
	shards [ifShards]ifShard
}

type ifShard struct {
	mu     sync.Mutex
	counts map[string]int
}

func newInFlightReq(c *config.InFlightReq) (*inFlight, error) {
	if c.Amount <= 0 {
		return nil, fmt.Errorf("amount: must be a positive number of requests, got %d", c.Amount)
	}
	key, err := newSourceKey(c.SourceCriterion, true)
	if err != nil {
		return nil, err
	}
	f := &inFlight{amount: c.Amount, key: key, seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].counts = make(map[string]int)
	}
	return f, nil
}

// wrap returns the middleware: 429 when the client already has amount
// requests in progress.
func (f *inFlight) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := f.key.key(r)
		sh := &f.shards[maphash.String(f.seed, key)%ifShards]
		sh.mu.Lock()
		n, found := sh.counts[key]
		if n >= f.amount {
			sh.mu.Unlock()
			w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Too Many Requests\n"))
			return
		}
		if !found {
			key = strings.Clone(key) // key may point into the request
		}
		sh.counts[key] = n + 1
		sh.mu.Unlock()
		defer f.release(sh, key)
		next.ServeHTTP(w, r)
	})
}

func (f *inFlight) release(sh *ifShard, key string) {
	sh.mu.Lock()
	if n := sh.counts[key] - 1; n > 0 {
		sh.counts[key] = n
	} else {
		delete(sh.counts, key)
	}
	sh.mu.Unlock()
}
