// Package health keeps the health of upstream servers: active checks that
// probe each server periodically, and passive ejection after failed
// requests. Its state outlives routing tables: a Registry owned by the
// process hands the same Checker to every table that uses the same check of
// the same server, so rebuilding the configuration never forgets that a
// server is down.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// State is a server's health as an active check sees it.
type State uint32

// States.
const (
	// Pending: the server was added and has not passed a probe yet.
	Pending State = iota
	// Up: the last probe passed.
	Up
	// Down: the last probe failed.
	Down
)

// String returns UP, DOWN or PENDING.
func (s State) String() string {
	switch s {
	case Up:
		return "UP"
	case Down:
		return "DOWN"
	}
	return "PENDING"
}

// Check is a resolved active health check: defaults applied.
type Check struct {
	Path              string
	Port              int
	Scheme            string
	Hostname          string
	Method            string
	Headers           map[string]string
	Interval          time.Duration
	UnhealthyInterval time.Duration
	Timeout           time.Duration
	StatusMin         int
	StatusMax         int
	FollowRedirects   bool
	StartHealthy      bool
	// Transport carries the probes; nil: the registry's (see Transport).
	Transport *Transport
	// Mode is "http" or "grpc" (the gRPC health protocol, grpc.go).
	Mode string
}

// Resolve applies defaults to a configured health check; the definition is
// expected to have passed config.Validate.
func Resolve(hc *config.HealthCheck) Check {
	c := Check{
		Path: hc.Path, Port: hc.Port, Scheme: hc.Scheme, Hostname: hc.Hostname, Method: hc.Method,
		Headers: hc.Headers, Interval: time.Duration(hc.Interval), UnhealthyInterval: time.Duration(hc.UnhealthyInterval),
		Timeout: time.Duration(hc.Timeout), FollowRedirects: hc.FollowRedirects == nil || *hc.FollowRedirects,
		StartHealthy: hc.StartHealthy, Mode: strings.ToLower(hc.Mode),
	}
	if c.Mode == "" {
		c.Mode = "http"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.Interval <= 0 {
		c.Interval = config.DefaultCheckInterval
	}
	if c.UnhealthyInterval <= 0 {
		c.UnhealthyInterval = c.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = config.DefaultCheckTimeout
	}
	c.StatusMin, c.StatusMax, _ = hc.Status.Bounds()
	if c.StatusMin == 0 {
		c.StatusMin, c.StatusMax = 200, 399
	}
	return c
}

// Key identifies a checker: the service, its check definition and the
// server. Two tables using the same key share one checker.
type Key struct {
	Service string
	Check   string // canonical text of the Check
	URL     string
}

// KeyOf returns the key of check for one server of a service.
func KeyOf(service string, c Check, serverURL string) Key {
	return Key{Service: service, Check: fmt.Sprintf("%+v", c), URL: serverURL}
}

// Status is a checker's state as the API shows it.
type Status struct {
	State      State
	LastError  string
	LastChange time.Time
}

// Checker probes one server. Its state is read on every request with one
// atomic load.
type Checker struct {
	key    Key
	check  Check
	target *url.URL // the probe's URL
	host   string   // the probe's Host header
	log    *zap.Logger
	// onChange is told every change of state; nil: nobody listens.
	onChange func(service, url string, to State)
	// own are the probe clients of the check's Transport; nil: the registry's.
	own *clients
	// grpc is the gRPC health client of a grpc check, made by the first
	// probe and closed when the checker stops; only run uses it.
	grpc *grpcProbe

	state atomic.Uint32

	mu         sync.Mutex
	lastErr    string
	lastChange time.Time
	running    bool
	cancel     context.CancelFunc
	done       chan struct{}
}

func newChecker(key Key, check Check, log *zap.Logger, initial State) (*Checker, error) {
	u, err := url.Parse(key.URL)
	if err != nil {
		return nil, fmt.Errorf("health: parse server url %q: %w", key.URL, err)
	}
	t := *u
	if check.Scheme != "" {
		t.Scheme = check.Scheme
	}
	if check.Port > 0 {
		t.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(check.Port))
	}
	path, query, _ := cutQuery(check.Path)
	t.Path, t.RawPath, t.RawQuery = path, "", query
	c := &Checker{key: key, check: check, target: &t, host: check.Hostname, log: log, lastChange: time.Now(),
		own: check.Transport.clients()}
	if initial == Pending && check.StartHealthy {
		initial = Up
	}
	c.state.Store(uint32(initial))
	return c, nil
}

func cutQuery(p string) (path, query string, ok bool) {
	for i := 0; i < len(p); i++ {
		if p[i] == '?' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}

// State returns the server's current state.
func (c *Checker) State() State { return State(c.state.Load()) }

// Status returns the state with the last probe error and the time of the
// last change.
func (c *Checker) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{State: c.State(), LastError: c.lastErr, LastChange: c.lastChange}
}

// Key returns the checker's key.
func (c *Checker) Key() Key { return c.key }

// run probes until ctx ends: at once, then every Interval while up and
// every UnhealthyInterval while down.
func (c *Checker) run(ctx context.Context, clients *clients) {
	defer close(c.done)
	defer c.closeGRPC()
	if c.own != nil {
		clients = c.own
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := c.probe(ctx, clients)
		if ctx.Err() != nil {
			return
		}
		c.record(err)
		next := c.check.Interval
		if c.State() == Down {
			next = c.check.UnhealthyInterval
		}
		timer.Reset(next)
	}
}

// probe sends one check request and returns why it failed, or nil.
func (c *Checker) probe(ctx context.Context, cl *clients) error {
	ctx, cancel := context.WithTimeout(ctx, c.check.Timeout)
	defer cancel()
	if c.check.Mode == "grpc" {
		return c.probeGRPC(ctx, cl)
	}
	req, err := http.NewRequestWithContext(ctx, c.check.Method, c.target.String(), nil)
	if err != nil {
		return err
	}
	if req.URL.Scheme == "h2c" {
		req.URL.Scheme = "http"
	}
	for k, v := range c.check.Headers {
		req.Header.Set(k, v)
	}
	if c.host != "" {
		req.Host = c.host
	}
	req.Header.Set("User-Agent", "ferry-health-check")
	resp, err := cl.pick(c.target.Scheme, c.check.FollowRedirects).Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", c.check.Timeout)
		}
		return unwrapURLError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < c.check.StatusMin || resp.StatusCode > c.check.StatusMax {
		return fmt.Errorf("status %d, want %d-%d", resp.StatusCode, c.check.StatusMin, c.check.StatusMax)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// record stores a probe's outcome and logs a change of state once.
func (c *Checker) record(err error) {
	next := Up
	msg := ""
	if err != nil {
		next, msg = Down, err.Error()
	}
	c.mu.Lock()
	prev := c.State()
	c.lastErr = msg
	if prev != next {
		c.lastChange = time.Now()
		c.state.Store(uint32(next))
	}
	c.mu.Unlock()
	if prev == next {
		return
	}
	if c.onChange != nil {
		c.onChange(c.key.Service, c.key.URL, next)
	}
	fields := []zap.Field{zap.String("service", c.key.Service), zap.String("server", c.key.URL),
		zap.String("from", prev.String()), zap.String("to", next.String())}
	switch {
	case next == Down:
		c.log.Warn("server failed its health check", append(fields, zap.String("reason", msg))...)
	case prev == Down:
		c.log.Info("server passed its health check", fields...)
	default:
		c.log.Debug("server passed its first health check", fields...)
	}
}

// clients are the HTTP clients of probes, by scheme and redirect policy.
type clients struct {
	plain, plainNoRedirect *http.Client
	h2c, h2cNoRedirect     *http.Client
}

func newClients(transport, h2c http.RoundTripper) *clients {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &clients{
		plain:           &http.Client{Transport: transport},
		plainNoRedirect: &http.Client{Transport: transport, CheckRedirect: noRedirect},
		h2c:             &http.Client{Transport: h2c},
		h2cNoRedirect:   &http.Client{Transport: h2c, CheckRedirect: noRedirect},
	}
}

func (c *clients) pick(scheme string, follow bool) *http.Client {
	switch {
	case scheme == "h2c" && follow:
		return c.h2c
	case scheme == "h2c":
		return c.h2cNoRedirect
	case follow:
		return c.plain
	}
	return c.plainNoRedirect
}
