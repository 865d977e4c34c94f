package balance

import (
	"math/rand/v2"
	"sort"
)

// p2c samples two nodes at random, in proportion to their weights, and
// keeps the one with fewer requests in flight per weight. It takes no lock.
func (b *Balancer[T]) p2c(level Availability) int {
	x := b.sample(level)
	if x < 0 {
		return b.scan(level)
	}
	y := b.sample(level)
	if y < 0 || y == x || !b.lighter(y, x) {
		return x
	}
	return y
}

// sample draws a node in proportion to its weight, retrying a few times
// when the draw is not eligible.
func (b *Balancer[T]) sample(level Availability) int {
	for range 3 {
		r := rand.IntN(b.total) + 1
		i := sort.SearchInts(b.prefix, r)
		if b.availability(i) <= level {
			return i
		}
	}
	return -1
}

// scan returns the lightest eligible node, starting at a random node so
// that equal nodes share the load; used when sampling keeps missing.
func (b *Balancer[T]) scan(level Availability) int {
	n := len(b.nodes)
	start := rand.IntN(n)
	best := -1
	for k := range n {
		i := (start + k) % n
		if b.availability(i) > level {
			continue
		}
		if best < 0 || b.lighter(i, best) {
			best = i
		}
	}
	return best
}
