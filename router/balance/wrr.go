package balance

// wrr is the smooth weighted round robin (nginx's): over any window of
// sum(weights) picks each node is chosen weight times, spread out. Nodes
// worse than level are skipped and their weight leaves the sum.
func (b *Balancer[T]) wrr(level Availability) int {
	if len(b.nodes) == 1 {
		if b.availability(0) <= level {
			return 0
		}
		return -1
	}
	b.mu.Lock()
	best, total := -1, 0
	for i := range b.nodes {
		if b.availability(i) > level {
			continue
		}
		w := b.nodes[i].Weight
		b.current[i] += w
		total += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best >= 0 {
		b.current[best] -= total
	}
	b.mu.Unlock()
	return best
}
