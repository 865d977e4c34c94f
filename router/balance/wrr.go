// Package balance picks the upstream server for each request.
package balance

import (
	"sync"
)

// Target is one upstream server as the balancer sees it.
type Target[T any] struct {
	// Key identifies the server across configuration swaps (its URL).
	Key string
	// Weight is the server's share; zero never picks it.
	Weight int
	// Value is what the caller gets back (the server's proxy).
	Value T
}

// WRR is a smooth weighted round robin (the nginx algorithm): over any window
// of sum(weights) picks, each server is chosen exactly weight times, and picks
// of a heavy server are spread out rather than bunched.
type WRR[T any] struct {
	mu      sync.Mutex
	targets []Target[T]
	current []int
	total   int
}

// NewWRR returns a balancer over targets; servers with weight 0 are never picked.
func NewWRR[T any](targets []Target[T]) *WRR[T] {
	b := &WRR[T]{targets: targets, current: make([]int, len(targets))}
	for _, t := range targets {
		if t.Weight > 0 {
			b.total += t.Weight
		}
	}
	return b
}

// Len returns the number of servers that can be picked.
func (b *WRR[T]) Len() int {
	n := 0
	for _, t := range b.targets {
		if t.Weight > 0 {
			n++
		}
	}
	return n
}

// Next returns the next server, and false when no server can be picked.
func (b *WRR[T]) Next() (T, bool) {
	var zero T
	if b.total == 0 {
		return zero, false
	}
	if len(b.targets) == 1 {
		return b.targets[0].Value, true
	}
	b.mu.Lock()
	best := -1
	for i := range b.targets {
		w := b.targets[i].Weight
		if w <= 0 {
			continue
		}
		b.current[i] += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	b.current[best] -= b.total
	v := b.targets[best].Value
	b.mu.Unlock()
	return v, true
}
