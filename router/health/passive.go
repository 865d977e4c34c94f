package health

import (
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// maxBackoffFactor caps an ejection at this many failure windows.
const maxBackoffFactor = 16

// Passive is a resolved passive health check.
type Passive struct {
	MaxFailedAttempts    int
	FailureWindow        time.Duration
	ConnectionErrorsOnly bool
}

// ResolvePassive applies defaults to a configured passive health check.
func ResolvePassive(p *config.PassiveHealthCheck) Passive {
	out := Passive{MaxFailedAttempts: p.MaxFailedAttempts, FailureWindow: time.Duration(p.FailureWindow),
		ConnectionErrorsOnly: p.ConnectionErrorsOnly}
	if out.MaxFailedAttempts <= 0 {
		out.MaxFailedAttempts = 1
	}
	if out.FailureWindow <= 0 {
		out.FailureWindow = config.DefaultFailureWindow
	}
	return out
}

// Ejection is one server's passive health: failures counted in a window,
// and the time until which the server is out of rotation. It is kept per
// server URL across configuration swaps. The hot path (Ejected, Succeeded
// on a server never ejected) is one atomic load.
type Ejection struct {
	until    atomic.Int64 // unix nanoseconds; 0 when not ejected
	failures atomic.Int32 // failures in the current window

	mu          sync.Mutex
	windowStart time.Time
	backoff     time.Duration
	lastErr     string
	lastChange  time.Time
}

// Ejected reports whether the server is out of rotation at now (unix
// nanoseconds). After its ejection ends a server is on probation: it takes
// requests again, and the next outcome decides.
func (e *Ejection) Ejected(now int64) bool {
	u := e.until.Load()
	return u != 0 && now < u
}

// Active reports whether an ejection is recorded (running or on probation),
// so that callers can skip reading the clock when it is not.
func (e *Ejection) Active() bool { return e.until.Load() != 0 }

// Succeeded records a successful request. It reports whether the
// server came back into rotation.
func (e *Ejection) Succeeded(log *zap.Logger, service, server string) bool {
	if e.until.Load() == 0 {
		return false
	}
	e.mu.Lock()
	restored := false
	if u := e.until.Load(); u != 0 && time.Now().UnixNano() >= u {
		e.until.Store(0)
		e.backoff = 0
		e.lastChange = time.Now()
		restored = true
	}
	e.mu.Unlock()
	if restored {
		log.Info("server back in rotation after passive ejection", zap.String("service", service), zap.String("server", server))
	}
	return restored
}

// Failed records a failed request and ejects the server when the failures
// reach the limit within the window, or when it fails on probation. It
// reports whether the server was ejected.
func (e *Ejection) Failed(p Passive, reason string, log *zap.Logger, service, server string) bool {
	now := time.Now()
	e.mu.Lock()
	var ejectFor time.Duration
	switch u := e.until.Load(); {
	case u != 0 && now.UnixNano() < u:
		// Already ejected: a request that started before the ejection.
	case u != 0:
		// Failed on probation: eject again, for longer.
		e.backoff = min(2*e.backoff, maxBackoffFactor*p.FailureWindow)
		if e.backoff <= 0 {
			e.backoff = p.FailureWindow
		}
		ejectFor = e.backoff
	default:
		if now.Sub(e.windowStart) > p.FailureWindow {
			e.windowStart = now
			e.failures.Store(0)
		}
		if e.failures.Add(1) >= int32(p.MaxFailedAttempts) {
			e.backoff = p.FailureWindow
			ejectFor = e.backoff
		}
	}
	if ejectFor > 0 {
		e.until.Store(now.Add(ejectFor).UnixNano())
		e.failures.Store(0)
		e.lastErr = reason
		e.lastChange = now
	}
	e.mu.Unlock()
	if ejectFor > 0 {
		log.Warn("server ejected after failed requests", zap.String("service", service), zap.String("server", server),
			zap.Duration("for", ejectFor), zap.String("reason", reason))
	}
	return ejectFor > 0
}

// EjectionStatus is an ejection's state as the API shows it.
type EjectionStatus struct {
	Ejected    bool
	Until      time.Time
	LastError  string
	LastChange time.Time
}

// Status returns the ejection's state.
func (e *Ejection) Status() EjectionStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := EjectionStatus{LastError: e.lastErr, LastChange: e.lastChange}
	if u := e.until.Load(); u != 0 && time.Now().UnixNano() < u {
		s.Ejected, s.Until = true, time.Unix(0, u)
	}
	return s
}
