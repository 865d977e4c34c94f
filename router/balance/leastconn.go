package balance

// leastConn picks the node with the fewest requests in flight per weight;
// ties (the usual case at low concurrency) are broken by smooth weighted
// round robin among the tied nodes, so weights hold then too.
func (b *Balancer[T]) leastConn(level Availability) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Eligibility of the first 256 nodes is remembered for the second pass.
	var eligible [4]uint64
	least := -1
	var leastLoad int64
	for i := range b.nodes {
		if b.availability(i) > level {
			continue
		}
		if i < 256 {
			eligible[i>>6] |= 1 << (i & 63)
		}
		if l := b.load(i); least < 0 || l*int64(b.nodes[least].Weight) < leastLoad*int64(b.nodes[i].Weight) {
			least, leastLoad = i, l
		}
	}
	if least < 0 {
		return -1
	}
	// Nodes before least carry more load per weight: the ties start at least.
	best, total := -1, 0
	lw := int64(b.nodes[least].Weight)
	for i := least; i < len(b.nodes); i++ {
		if i < 256 {
			if eligible[i>>6]&(1<<(i&63)) == 0 {
				continue
			}
		} else if b.availability(i) > level {
			continue
		}
		if b.load(i)*lw != leastLoad*int64(b.nodes[i].Weight) {
			continue
		}
		w := b.nodes[i].Weight
		b.current[i] += w
		total += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best < 0 {
		return least // loads moved under us
	}
	b.current[best] -= total
	return best
}
