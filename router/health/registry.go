package health

import (
	"context"
	"net/http"
	"sync"

	"go.uber.org/zap"
)

// Registry owns every active checker of the process. Building a table asks
// it for checkers (Checker), which does not start anything; once the table
// is live, Sync starts the checkers it uses and stops those no table uses
// any more. Close stops them all.
type Registry struct {
	log     *zap.Logger
	clients *clients
	ctx     context.Context
	cancel  context.CancelFunc

	onChange func(service, url string, to State)

	mu       sync.Mutex
	checkers map[Key]*Checker
	wg       sync.WaitGroup
}

// Options configure a Registry.
type Options struct {
	// Transport sends probes to http:// and https:// servers.
	Transport http.RoundTripper
	// H2C sends probes to h2c:// servers.
	H2C http.RoundTripper
	// OnChange, when set, is told every change of a server's state (for
	// metrics). It must not block.
	OnChange func(service, url string, to State)
}

// NewRegistry returns an empty registry.
func NewRegistry(log *zap.Logger, opts Options) *Registry {
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.H2C == nil {
		opts.H2C = opts.Transport
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Registry{log: log, clients: newClients(opts.Transport, opts.H2C), ctx: ctx, cancel: cancel,
		checkers: make(map[Key]*Checker), onChange: opts.OnChange}
}

// Checker returns the checker for key, creating it when there is none.
// A new checker starts in the state initial (Pending for a server never
// seen, or the state of the previous checker of the same server when the
// check's definition changed). It does not probe until Sync starts it.
func (r *Registry) Checker(key Key, check Check, initial State) (*Checker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.checkers[key]; c != nil {
		return c, nil
	}
	c, err := newChecker(key, check, r.log, initial)
	if err != nil {
		return nil, err
	}
	c.onChange = r.onChange
	r.checkers[key] = c
	return c, nil
}

// Sync makes the running checkers exactly those in use: it starts the ones
// not running yet and stops and forgets every other. A nil registry does
// nothing.
func (r *Registry) Sync(inUse []*Checker) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	keep := make(map[*Checker]bool, len(inUse))
	for _, c := range inUse {
		keep[c] = true
	}
	for key, c := range r.checkers {
		if !keep[c] {
			c.stop()
			delete(r.checkers, key)
		}
	}
	for c := range keep {
		if r.checkers[c.key] != c {
			continue // from a registry's past: a table built before a Sync that dropped it
		}
		c.start(r.ctx, r.clients, &r.wg)
	}
}

// Running returns the number of running checkers.
func (r *Registry) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.checkers {
		c.mu.Lock()
		if c.running {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// Close stops every checker and waits for them to end. A nil registry
// does nothing.
func (r *Registry) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.cancel()
	for key, c := range r.checkers {
		c.stop()
		delete(r.checkers, key)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (c *Checker) start(parent context.Context, cl *clients, wg *sync.WaitGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running || c.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(parent)
	c.running, c.cancel, c.done = true, cancel, make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.run(ctx, cl)
	}()
}

func (c *Checker) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	c.running = false
}
