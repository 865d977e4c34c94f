package traffic

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

const (
	// rlShards splits the buckets so concurrent clients rarely share a lock.
	rlShards = 32
	// rlMaxPerShard bounds memory: at most rlShards*rlMaxPerShard buckets
	// (65,536) exist at once, however many clients there are.
	rlMaxPerShard = 2048
	// rlMaxDelay bounds how long a request may be held to smooth a burst
	// before it is refused instead.
	rlMaxDelay = 500 * time.Millisecond
)

// rateLimiter is a token bucket per client. Buckets live in the limiter,
// which the router keeps across configuration swaps while the middleware's
// definition is unchanged, and are shared by every router using it.
type rateLimiter struct {
	rate     float64 // tokens per nanosecond
	burst    float64
	maxDelay int64 // ns a request may wait for its token
	sweepAge int64 // ns between sweeps of a shard
	key      *sourceKey
	seed     maphash.Seed
	start    time.Time
	now      func() int64 // monotonic ns since start; replaced in tests
	shards   [rlShards]rlShard
}

type rlShard struct {
	mu        sync.Mutex
	buckets   map[string]bucket
	lastSweep int64
}

// bucket holds a client's tokens at time last; tokens may be negative when
// requests were admitted after a short wait.
type bucket struct {
	tokens float64
	last   int64
}

func newRateLimit(c *config.RateLimit) (*rateLimiter, error) {
	if c.Average <= 0 {
		return nil, errors.New("average: must be a positive number of requests per period")
	}
	if c.Burst < 0 {
		return nil, fmt.Errorf("burst: negative burst %d", c.Burst)
	}
	if c.Period < 0 {
		return nil, fmt.Errorf("period: negative period %s", c.Period)
	}
	period := time.Duration(c.Period)
	if period == 0 {
		period = time.Second
	}
	burst := c.Burst
	if burst == 0 {
		burst = 1
	}
	key, err := newSourceKey(c.SourceCriterion, false)
	if err != nil {
		return nil, err
	}
	l := &rateLimiter{
		rate:  float64(c.Average) / float64(period),
		burst: float64(burst),
		key:   key,
		seed:  maphash.MakeSeed(),
		start: time.Now(),
	}
	// Hold a request up to half the interval between two tokens, so evenly
	// paced clients at the limit are not refused for jitter.
	l.maxDelay = min(int64(0.5/l.rate), int64(rlMaxDelay))
	// A bucket idle for refill time is full again, the same as no bucket.
	l.sweepAge = max(int64(l.burst/l.rate), int64(time.Second))
	l.now = func() int64 { return int64(time.Since(l.start)) }
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]bucket)
	}
	return l, nil
}

// wrap returns the middleware.
func (l *rateLimiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, ok := l.take(l.key.key(r), l.now())
		if !ok {
			secs := int(math.Ceil(time.Duration(wait).Seconds()))
			w.Header()["Retry-After"] = []string{strconv.Itoa(max(secs, 1))}
			w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Too Many Requests\n"))
			return
		}
		if wait > 0 {
			t := time.NewTimer(time.Duration(wait))
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// take spends a token of key's bucket at now. It returns ok with the time
// to wait for the token (0 when one is there), or !ok with the time until
// one will be.
func (l *rateLimiter) take(key string, now int64) (wait int64, ok bool) {
	sh := &l.shards[maphash.String(l.seed, key)%rlShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now-sh.lastSweep >= l.sweepAge {
		l.sweep(sh, now)
	}
	b, found := sh.buckets[key]
	if found {
		b.tokens = min(l.burst, b.tokens+float64(now-b.last)*l.rate)
		b.last = now
	} else {
		if len(sh.buckets) >= rlMaxPerShard {
			l.sweep(sh, now)
			if len(sh.buckets) >= rlMaxPerShard {
				for k := range sh.buckets { // evict any one: it starts afresh
					delete(sh.buckets, k)
					break
				}
			}
		}
		key = strings.Clone(key) // key may point into the request
		b = bucket{tokens: l.burst, last: now}
	}
	if b.tokens >= 1 {
		b.tokens--
		sh.buckets[key] = b
		return 0, true
	}
	wait = int64(math.Ceil((1 - b.tokens) / l.rate))
	if wait <= l.maxDelay {
		b.tokens--
		sh.buckets[key] = b
		return wait, true
	}
	sh.buckets[key] = b
	return wait, false
}

// sweep drops the shard's buckets that are full again: they behave like
// absent ones. The caller holds the lock.
func (l *rateLimiter) sweep(sh *rlShard, now int64) {
	sh.lastSweep = now
	for k, b := range sh.buckets {
		if b.tokens+float64(now-b.last)*l.rate >= l.burst {
			delete(sh.buckets, k)
		}
	}
}

// size returns the number of buckets held, for tests.
func (l *rateLimiter) size() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}
