package traffic

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
)

// Circuit breaker states.
const (
	stateClosed     = iota // traffic flows; the expression is checked
	stateOpen              // every request gets the fallback answer
	stateRecovering        // a growing share of traffic flows again
)

// breakerFuncs returns the functions a circuit breaker expression may call.
func breakerFuncs() map[string]exprFunc[*snapshot] {
	return map[string]exprFunc[*snapshot]{
		"NetworkErrorRatio": {args: 0, num: func(s *snapshot, _ []float64) float64 { return s.networkErrorRatio() }},
		"ResponseCodeRatio": {args: 4, num: func(s *snapshot, a []float64) float64 {
			return s.responseCodeRatio(int(a[0]), int(a[1]), int(a[2]), int(a[3]))
		}},
		"LatencyAtQuantileMS": {args: 1, num: func(s *snapshot, a []float64) float64 { return s.latencyAtQuantileMS(a[0]) }},
	}
}

// compileBreakerExpr compiles a circuit breaker expression.
func compileBreakerExpr(src string) (func(*snapshot) bool, error) {
	return compileExpr(src, breakerFuncs())
}

// breaker watches the responses of what it wraps over a rolling 10 second
// window. Every checkPeriod (checked as requests complete: no goroutine)
// it evaluates its expression; when true, it opens: for fallbackDuration
// every request is answered with responseCode (503). It then recovers: for
// recoveryDuration the share of requests let through grows linearly from
// 0 to all, and the expression is still checked (true opens it again).
type breaker struct {
	expr     string
	cond     func(*snapshot) bool
	check    int64
	fallback int64
	recovery int64
	code     int
	body     []byte
	log      *zap.Logger
	start    time.Time
	now      func() int64 // monotonic ns since start; replaced in tests
	pool     sync.Pool    // *breakerWriter

	mu        sync.Mutex
	state     int
	until     int64 // end of the open or recovering state
	since     int64 // start of recovery
	nextCheck int64
	credit    float64 // recovery: requests owed to the server, in fractions
	win       window
	snap      snapshot
}

func newCircuitBreaker(c *config.CircuitBreaker, log *zap.Logger) (*breaker, error) {
	if c.Expression == "" {
		return nil, errors.New("expression: missing, e.g. NetworkErrorRatio() > 0.5")
	}
	cond, err := compileBreakerExpr(c.Expression)
	if err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	durations := []struct {
		name string
		v    config.Duration
		def  time.Duration
	}{{"checkPeriod", c.CheckPeriod, 100 * time.Millisecond}, {"fallbackDuration", c.FallbackDuration, 10 * time.Second}, {"recoveryDuration", c.RecoveryDuration, 10 * time.Second}}
	vals := make([]int64, len(durations))
	for i, d := range durations {
		if d.v < 0 {
			return nil, fmt.Errorf("%s: negative duration %s", d.name, d.v)
		}
		vals[i] = int64(d.v)
		if vals[i] == 0 {
			vals[i] = int64(d.def)
		}
	}
	code := c.ResponseCode
	if code == 0 {
		code = http.StatusServiceUnavailable
	}
	if code < 100 || code > 599 {
		return nil, fmt.Errorf("responseCode: invalid status %d", code)
	}
	b := &breaker{
		expr: c.Expression, cond: cond, check: vals[0], fallback: vals[1], recovery: vals[2],
		code: code, body: []byte(http.StatusText(code) + "\n"), log: log, start: time.Now(),
	}
	b.now = func() int64 { return int64(time.Since(b.start)) }
	b.nextCheck = b.check // the first check one period after creation
	b.pool.New = func() any { return new(breakerWriter) }
	return b, nil
}

// wrap returns the middleware.
func (b *breaker) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := b.now()
		if !b.admit(start) {
			w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
			w.WriteHeader(b.code)
			_, _ = w.Write(b.body)
			return
		}
		bw := b.pool.Get().(*breakerWriter)
		*bw = breakerWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if !bw.clientFault { // a client's fault says nothing about the servers
				b.done(start, bw.status, bw.netErr)
			}
			*bw = breakerWriter{}
			b.pool.Put(bw)
		}()
		next.ServeHTTP(bw, r)
	})
}

// admit reports whether a request arriving at now may go through.
func (b *breaker) admit(now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateOpen:
		if now < b.until {
			return false
		}
		b.state, b.since, b.until = stateRecovering, now, now+b.recovery
		b.credit = 0
		b.win.reset()
		b.log.Info("circuit breaker recovering", zap.Duration("recoveryDuration", time.Duration(b.recovery)))
		fallthrough
	case stateRecovering:
		if now >= b.until {
			b.state = stateClosed
			b.log.Info("circuit breaker closed")
			return true
		}
		// Let through a share of requests growing linearly with time.
		b.credit += float64(now-b.since) / float64(b.recovery)
		if b.credit >= 1 {
			b.credit--
			return true
		}
		return false
	}
	return true
}

// done records a response and, once per checkPeriod, checks the expression.
func (b *breaker) done(start int64, status int, netErr bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.win.record(now, status, netErr, now-start)
	if now < b.nextCheck || b.state == stateOpen {
		return
	}
	b.nextCheck = now + b.check
	b.win.snapshot(now, &b.snap)
	if !b.cond(&b.snap) {
		return
	}
	b.state, b.until = stateOpen, now+b.fallback
	b.win.reset()
	b.log.Warn("circuit breaker open", zap.String("expression", b.expr),
		zap.Duration("fallbackDuration", time.Duration(b.fallback)))
}

// breakerWriter learns the status of a response and whether the proxy
// failed to reach a server.
type breakerWriter struct {
	http.ResponseWriter
	status      int
	wrote       bool
	netErr      bool
	clientFault bool
}

var (
	_ ProxyErrorSetter = (*breakerWriter)(nil)
	_ http.Flusher     = (*breakerWriter)(nil)
)

// SetProxyError counts a network error, or leaves the request out of the
// record when the client is to blame, and passes the error on.
func (w *breakerWriter) SetProxyError(err error) {
	if fault.IsClient(err) {
		w.clientFault = true
	} else {
		w.netErr = true
	}
	SetProxyError(w.ResponseWriter, err)
}

func (w *breakerWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *breakerWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Flush sends what was written so far.
func (w *breakerWriter) Flush() {
	w.wrote = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the client's writer.
func (w *breakerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
