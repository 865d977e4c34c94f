package traffic

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
)

// defaultRetryBodyBytes bounds the request body kept for replay by default.
const defaultRetryBodyBytes = 1 << 20

// retrier reissues a request when the proxy could not reach a server, and
// on configured status codes. A retry goes through the service's balancer
// again, so it normally reaches another server.
type retrier struct {
	attempts      int
	initial       time.Duration
	status        []statusRange
	nonIdempotent bool
	noNetwork     bool
	maxBody       int64
	timeout       time.Duration // no try starts this long after the first began; 0: no bound
	log           *zap.Logger
}

// statusRange is an inclusive range of status codes.
type statusRange struct{ from, to int }

// parseStatusRanges parses "503" and "500-599"; field names the option.
func parseStatusRanges(list []string, field string) ([]statusRange, error) {
	out := make([]statusRange, 0, len(list))
	for i, s := range list {
		from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(from))
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(to))
		}
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("%s[%d]: invalid status or range %q (want e.g. 503 or 500-599)", field, i, s)
		}
		out = append(out, statusRange{a, b})
	}
	return out, nil
}

func matchStatus(rs []statusRange, code int) bool {
	for _, r := range rs {
		if code >= r.from && code <= r.to {
			return true
		}
	}
	return false
}

func newRetry(c *config.Retry, log *zap.Logger) (*retrier, error) {
	if c.Attempts <= 0 {
		return nil, fmt.Errorf("attempts: must be a positive number of tries, got %d", c.Attempts)
	}
	if c.InitialInterval < 0 {
		return nil, fmt.Errorf("initialInterval: negative interval %s", c.InitialInterval)
	}
	if c.MaxRequestBodyBytes < 0 {
		return nil, fmt.Errorf("maxRequestBodyBytes: negative size %d", c.MaxRequestBodyBytes)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("timeout: negative duration %s", c.Timeout)
	}
	status, err := parseStatusRanges(c.Status, "status")
	if err != nil {
		return nil, err
	}
	if c.DisableRetryOnNetworkError && len(status) == 0 {
		return nil, errors.New("disableRetryOnNetworkError: nothing left to retry on: set status too")
	}
	maxBody := c.MaxRequestBodyBytes
	if maxBody == 0 {
		maxBody = defaultRetryBodyBytes
	}
	return &retrier{
		attempts:      c.Attempts,
		initial:       time.Duration(c.InitialInterval),
		status:        status,
		nonIdempotent: c.RetryNonIdempotentMethod,
		noNetwork:     c.DisableRetryOnNetworkError,
		maxBody:       maxBody,
		timeout:       time.Duration(c.Timeout),
		log:           log,
	}, nil
}

// idempotent reports whether a method may be repeated safely (RFC 9110).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// wrap returns the middleware.
func (rt *retrier) wrap(next http.Handler) http.Handler {
	if rt.attempts == 1 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &retryWriter{w: w, rt: rt, r: r}
		rw.canStatus = len(rt.status) > 0 && (rt.nonIdempotent || idempotent(r.Method))
		req := r
		var start time.Time
		if rt.timeout > 0 {
			start = time.Now()
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			rw.body = newReplayBody(r.Body, rt.maxBody)
		}
		for attempt := 1; ; attempt++ {
			rw.reset(attempt >= rt.attempts)
			if rw.body != nil {
				cp := *r
				cp.Body = rw.body.next()
				req = &cp
			}
			next.ServeHTTP(rw, req)
			if !rw.retry {
				return
			}
			if ce := rt.log.Check(zap.DebugLevel, "retrying"); ce != nil {
				ce.Write(zap.Int("attempt", attempt), zap.Int("status", rw.status), zap.Error(rw.err))
			}
			if rt.timeout > 0 && time.Since(start)+rt.wait(attempt) >= rt.timeout {
				rw.giveUp() // the next try would start past retry.timeout
				return
			}
			if !rw.body.replayable() || !rt.backoff(r, attempt) {
				rw.giveUp()
				return
			}
			NoteRetry(w)
		}
	})
}

// wait is the pause before attempt+1: initialInterval, doubling each time.
func (rt *retrier) wait(attempt int) time.Duration {
	if rt.initial <= 0 {
		return 0
	}
	return rt.initial << min(attempt-1, 10)
}

// backoff waits before attempt+1: initialInterval, doubling each time. It
// reports false when the client left meanwhile.
func (rt *retrier) backoff(r *http.Request, attempt int) bool {
	if rt.initial <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(rt.wait(attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// retryWriter stands between the retry middleware and the handlers it
// retries. On an attempt that may still be retried, it holds back the
// proxy's error answer (learned through SetProxyError) and, when status
// retries apply, a response whose status is listed; anything else goes to
// the client at once, after which the request is never retried.
type retryWriter struct {
	w         http.ResponseWriter
	rt        *retrier
	r         *http.Request
	body      *replayBody
	hdr       http.Header // the attempt's own headers while a status retry may happen
	canStatus bool
	last      bool // the final attempt: pass everything through
	committed bool // the response (or part of it) went to the client
	swallow   bool // this attempt's answer is discarded
	retry     bool // this attempt is to be retried
	status    int
	err       error
}

var (
	_ ProxyErrorSetter = (*retryWriter)(nil)
	_ http.Flusher     = (*retryWriter)(nil)
)

func (rw *retryWriter) reset(last bool) {
	rw.last, rw.swallow, rw.retry, rw.status, rw.err = last, false, false, 0, nil
	rw.hdr = nil
	if rw.canStatus && !last && !rw.committed {
		rw.hdr = make(http.Header)
	}
}

// mayRetry reports whether this attempt's answer can still be replaced.
func (rw *retryWriter) mayRetry() bool {
	return !rw.last && !rw.committed && rw.body.replayable() && rw.r.Context().Err() == nil
}

// SetProxyError is called by the proxy before it answers 502/504.
func (rw *retryWriter) SetProxyError(err error) {
	if !rw.rt.noNetwork && !fault.IsClient(err) && rw.mayRetry() {
		rw.swallow, rw.retry, rw.err = true, true, err
		return
	}
	SetProxyError(rw.w, err)
}

func (rw *retryWriter) Header() http.Header {
	if rw.hdr != nil && !rw.committed {
		return rw.hdr
	}
	return rw.w.Header()
}

func (rw *retryWriter) WriteHeader(code int) {
	if rw.swallow {
		return
	}
	if !rw.committed && code >= 200 && rw.canStatus && matchStatus(rw.rt.status, code) && rw.mayRetry() {
		rw.swallow, rw.retry, rw.status = true, true, code
		return
	}
	rw.commit()
	rw.w.WriteHeader(code)
}

// commit moves the attempt's headers to the client's response; from now
// on everything passes through.
func (rw *retryWriter) commit() {
	if rw.committed {
		return
	}
	rw.committed = true
	if rw.hdr != nil {
		dst := rw.w.Header()
		for k, v := range rw.hdr {
			dst[k] = v
		}
		rw.hdr = nil
	}
}

func (rw *retryWriter) Write(b []byte) (int, error) {
	if !rw.committed && !rw.swallow {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.swallow {
		return len(b), nil
	}
	return rw.w.Write(b)
}

// Flush sends what was written so far, unless it is held back.
func (rw *retryWriter) Flush() {
	if rw.swallow {
		return
	}
	if !rw.committed {
		rw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Unwrap lets http.ResponseController reach the client's writer.
func (rw *retryWriter) Unwrap() http.ResponseWriter { return rw.w }

// giveUp answers for an attempt that was held back but cannot be retried
// after all (the body could not be replayed, or the client left).
func (rw *retryWriter) giveUp() {
	if rw.err != nil {
		SetProxyError(rw.w, rw.err)
	}
	status := rw.status
	if status == 0 {
		status = http.StatusBadGateway
	}
	rw.w.WriteHeader(status)
	_, _ = rw.w.Write([]byte(http.StatusText(status) + "\n"))
}
