// Package balance picks the upstream server for each request. A Balancer
// holds its nodes and one of three strategies: smooth weighted round robin
// (wrr), power of two random choices on requests in flight (p2c), and
// fewest requests in flight (leastconn). All three honour weights and skip
// nodes that are not available; picking never allocates.
package balance

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Availability is whether a node may be picked.
type Availability uint8

// Availabilities, from best to worst.
const (
	// Available nodes are picked.
	Available Availability = iota
	// Fallback nodes (servers that have not passed their first health
	// check yet) are picked only when no node is Available.
	Fallback
	// Unavailable nodes are never picked.
	Unavailable
)

// Strategy names.
const (
	WRR       = "wrr"
	P2C       = "p2c"
	LeastConn = "leastconn"
)

// Node is one candidate: a server, or a service of a weighted service.
type Node[T any] struct {
	// Weight is the node's share; zero never picks it.
	Weight int
	// Value is what the caller gets back (the server's proxy).
	Value T
	// Health tells whether the node may be picked; nil means always.
	Health func() Availability
	// Load counts the node's requests in flight; the caller maintains it.
	// It may be shared with the node's predecessor in an earlier balancer.
	// nil counts as zero.
	Load *atomic.Int64
}

// Balancer picks nodes with one strategy. It is safe for concurrent use.
type Balancer[T any] struct {
	strategy string
	nodes    []Node[T]
	prefix   []int // cumulative weights, for p2c's weighted sampling
	total    int

	mu      sync.Mutex // guards current (wrr and leastconn)
	current []int
}

// New returns a balancer over nodes with the named strategy ("" is wrr).
func New[T any](strategy string, nodes []Node[T]) (*Balancer[T], error) {
	switch strategy {
	case "":
		strategy = WRR
	case WRR, P2C, LeastConn:
	default:
		return nil, fmt.Errorf("balance: unknown strategy %q", strategy)
	}
	b := &Balancer[T]{strategy: strategy, nodes: nodes, current: make([]int, len(nodes)), prefix: make([]int, len(nodes))}
	for i, n := range nodes {
		if n.Weight > 0 {
			b.total += n.Weight
		}
		b.prefix[i] = b.total
	}
	return b, nil
}

// Strategy returns the balancer's strategy.
func (b *Balancer[T]) Strategy() string { return b.strategy }

// Len returns the number of nodes.
func (b *Balancer[T]) Len() int { return len(b.nodes) }

// Node returns node i.
func (b *Balancer[T]) Node(i int) *Node[T] { return &b.nodes[i] }

// CarryCurrent copies the round robin position of nodes whose key is the
// same in prev, so that a rebuilt balancer continues its sequence.
func (b *Balancer[T]) CarryCurrent(prev *Balancer[T], key func(T) string) {
	if prev == nil {
		return
	}
	old := make(map[string]int, len(prev.nodes))
	prev.mu.Lock()
	for i, n := range prev.nodes {
		old[key(n.Value)] = prev.current[i]
	}
	prev.mu.Unlock()
	for i, n := range b.nodes {
		b.current[i] = old[key(n.Value)]
	}
}

// availability of node i.
func (b *Balancer[T]) availability(i int) Availability {
	n := &b.nodes[i]
	if n.Weight <= 0 {
		return Unavailable
	}
	if n.Health == nil {
		return Available
	}
	return n.Health()
}

// Healthy reports whether some node may be picked.
func (b *Balancer[T]) Healthy() bool {
	for i := range b.nodes {
		if b.availability(i) != Unavailable {
			return true
		}
	}
	return false
}

// Next returns the index of the next node, and false when none may be
// picked. Fallback nodes are considered only when no node is Available.
func (b *Balancer[T]) Next() (int, bool) {
	if b.total == 0 {
		return -1, false
	}
	for level := Available; level <= Fallback; level++ {
		var i int
		switch b.strategy {
		case P2C:
			i = b.p2c(level)
		case LeastConn:
			i = b.leastConn(level)
		default:
			i = b.wrr(level)
		}
		if i >= 0 {
			return i, true
		}
	}
	return -1, false
}

func (b *Balancer[T]) load(i int) int64 {
	if l := b.nodes[i].Load; l != nil {
		return l.Load()
	}
	return 0
}

// lighter reports whether node i carries less load per weight than node j.
func (b *Balancer[T]) lighter(i, j int) bool {
	return b.load(i)*int64(b.nodes[j].Weight) < b.load(j)*int64(b.nodes[i].Weight)
}

// Usable reports whether node i may be picked now (it may be a Fallback).
func (b *Balancer[T]) Usable(i int) bool { return b.availability(i) != Unavailable }
