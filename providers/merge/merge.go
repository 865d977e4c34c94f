// Package merge combines the providers' configuration views into one.
//
// A Merger keeps the newest full snapshot of every provider, drops updates
// equal to the provider's previous one, debounces bursts on their trailing
// edge, qualifies names as name@provider and hands one merged Snapshot to an
// apply function running on a goroutine of its own. Validation and error
// isolation belong to the router, which receives the merged configuration
// together with the providers' own problems.
package merge

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// Default debounce durations, used when Options leaves them zero.
const (
	DefaultDebounce = 100 * time.Millisecond
	DefaultMaxWait  = time.Second
)

// Options tune the debouncer.
type Options struct {
	// Debounce is the quiet window: a snapshot is emitted once no accepted
	// update has arrived for this long. Zero (or negative) means 100ms.
	Debounce time.Duration
	// MaxWait bounds the delay between the first accepted update of a burst
	// and the snapshot that includes it, so that a chatty provider cannot
	// hold back everyone else. Zero (or negative) means 1s.
	MaxWait time.Duration
	// OnUpdate, when set, is told every update received, by provider, before
	// it is merged (for metrics). It must not block.
	OnUpdate func(provider string)
}

// Snapshot is the merged view of all providers. A Snapshot and everything
// it points to are read-only: they share values with other snapshots and
// with the providers' own configurations.
type Snapshot struct {
	// Config is the merged configuration; every name is qualified as
	// name@provider.
	Config *config.Config
	// Problems are the providers' problems with object names qualified
	// (KindSource names are kept as sent), sorted with config.SortProblems.
	Problems []config.Problem
	// Origins says where each object was defined, by qualified name.
	Origins config.Origins
	// Providers are the providers that have sent at least one update, sorted.
	Providers []string
	// Generation increases with every snapshot the merger emits. When apply
	// is slower than the stream of snapshots, intermediate generations are
	// skipped and apply sees gaps.
	Generation uint64
}

// Merger merges provider updates into snapshots. Its zero value is not
// usable; create one with New.
type Merger struct {
	log      *zap.Logger
	debounce time.Duration
	maxWait  time.Duration
	onUpdate func(provider string)
}

// New returns a Merger that logs to log (nil discards logs).
func New(log *zap.Logger, opts Options) *Merger {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	return &Merger{log: log, debounce: opts.Debounce, maxWait: opts.MaxWait, onUpdate: opts.OnUpdate}
}

// Run reads updates until ctx ends or in is closed, and calls apply with
// each merged snapshot. apply runs on a goroutine of its own, one call at a
// time, so receiving from providers never waits for it; snapshots emitted
// while apply is busy replace one another, and the next call gets the
// newest.
//
// When in is closed, an update still inside its debounce window is merged
// and applied at once. When ctx ends, pending snapshots are dropped. Either
// way Run returns after apply's goroutine has finished, so apply should
// return promptly once ctx ends.
func (m *Merger) Run(ctx context.Context, in <-chan providers.Update, apply func(*Snapshot)) {
	applyCh := make(chan *Snapshot)
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for s := range applyCh {
			apply(s)
		}
	}()
	defer func() {
		close(applyCh)
		<-applied
	}()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	st := newState()
	var (
		gen        uint64
		next       *Snapshot // emitted, not yet taken by apply's goroutine
		burstStart time.Time // first accepted update of the pending burst; zero when none
	)
	emit := func() {
		gen++
		s := st.snapshot(gen)
		if next != nil {
			m.log.Debug("snapshot superseded before apply",
				zap.Uint64("generation", next.Generation), zap.Uint64("by", gen))
		}
		next = s
		m.log.Info("configuration merged",
			zap.Uint64("generation", gen),
			zap.Int("routers", len(s.Config.HTTP.Routers)),
			zap.Int("services", len(s.Config.HTTP.Services)),
			zap.Int("middlewares", len(s.Config.HTTP.Middlewares)),
			zap.Int("providers", len(s.Providers)),
			zap.Int("problems", len(s.Problems)),
			zap.Duration("delay", time.Since(burstStart)))
		burstStart = time.Time{}
	}

	for {
		var out chan<- *Snapshot
		if next != nil {
			out = applyCh
		}
		select {
		case <-ctx.Done():
			return
		case u, ok := <-in:
			if !ok {
				if !burstStart.IsZero() {
					timer.Stop()
					emit()
				}
				if next != nil {
					select {
					case applyCh <- next:
					case <-ctx.Done():
					}
				}
				return
			}
			if !m.accept(st, u) {
				continue
			}
			now := time.Now()
			if burstStart.IsZero() {
				burstStart = now
			}
			wait := m.debounce
			if left := m.maxWait - now.Sub(burstStart); left < wait {
				wait = left
			}
			timer.Reset(wait)
		case <-timer.C:
			if !burstStart.IsZero() {
				emit()
			}
		case out <- next:
			next = nil
		}
	}
}

// accept records u in st and reports whether it changed anything.
func (m *Merger) accept(st *state, u providers.Update) bool {
	if u.Provider == "" {
		m.log.Warn("update without a provider name dropped")
		return false
	}
	if m.onUpdate != nil {
		m.onUpdate(u.Provider)
	}
	if !st.accept(u) {
		m.log.Debug("unchanged update dropped", zap.String("provider", u.Provider))
		return false
	}
	return true
}
