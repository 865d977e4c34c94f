package traffic

import (
	"math"
	"math/bits"
)

const (
	// cbWindow buckets of cbBucketNS each make the window the circuit
	// breaker's expression looks at: the last 10 seconds.
	cbWindow   = 10
	cbBucketNS = int64(1e9)
	// latBuckets covers 1µs to over an hour with 8 steps per doubling
	// (about 12% precision).
	latBuckets = 256
)

// window is a rolling record of responses: counts per status code, network
// errors and a latency histogram, in one-second buckets. The caller locks.
type window struct {
	buckets [cbWindow]windowBucket
}

type windowBucket struct {
	epoch  int64 // now / cbBucketNS when this bucket was last reset
	total  uint64
	netErr uint64
	codes  [500]uint32 // status 100..599
	lat    [latBuckets]uint32
}

// record adds one response at now (ns).
func (w *window) record(now int64, status int, netErr bool, latency int64) {
	epoch := now / cbBucketNS
	b := &w.buckets[epoch%cbWindow]
	if b.epoch != epoch {
		*b = windowBucket{epoch: epoch}
	}
	b.total++
	if netErr {
		b.netErr++
	}
	if status >= 100 && status <= 599 {
		b.codes[status-100]++
	}
	b.lat[latIndex(latency)]++
}

// reset forgets everything.
func (w *window) reset() { *w = window{} }

// snapshot sums the buckets of the window ending at now into s.
func (w *window) snapshot(now int64, s *snapshot) {
	*s = snapshot{}
	epoch := now / cbBucketNS
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.total == 0 || b.epoch <= epoch-cbWindow || b.epoch > epoch {
			continue
		}
		s.total += b.total
		s.netErr += b.netErr
		for c, n := range b.codes {
			s.codes[c] += uint64(n)
		}
		for l, n := range b.lat {
			s.lat[l] += uint64(n)
		}
	}
}

// snapshot is the window's totals that breaker expressions read.
type snapshot struct {
	total  uint64
	netErr uint64
	codes  [500]uint64
	lat    [latBuckets]uint64
}

// networkErrorRatio is the share of requests that could not reach a server.
func (s *snapshot) networkErrorRatio() float64 {
	if s.total == 0 {
		return 0
	}
	return float64(s.netErr) / float64(s.total)
}

// responseCodeRatio is the number of responses with a status in [from, to)
// divided by the number in [divFrom, divTo); 0 when there are none.
func (s *snapshot) responseCodeRatio(from, to, divFrom, divTo int) float64 {
	num, den := countRange(&s.codes, from, to), countRange(&s.codes, divFrom, divTo)
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

type codeCounts = [500]uint64

func countRange(c *codeCounts, from, to int) uint64 {
	from, to = max(from, 100), min(to, 600)
	var n uint64
	for code := from; code < to; code++ {
		n += c[code-100]
	}
	return n
}

// latencyAtQuantileMS is the latency in milliseconds below which q percent
// of the responses were.
func (s *snapshot) latencyAtQuantileMS(q float64) float64 {
	var total uint64
	for _, n := range s.lat {
		total += n
	}
	if total == 0 {
		return 0
	}
	target := uint64(math.Ceil(q / 100 * float64(total)))
	target = max(target, 1)
	var cum uint64
	for i, n := range s.lat {
		cum += n
		if cum >= target {
			return float64(latUpper(i)) / 1000
		}
	}
	return float64(latUpper(latBuckets-1)) / 1000
}

// latIndex maps a latency in ns to its histogram bucket.
func latIndex(ns int64) int {
	us := uint64(max(ns/1000, 0))
	if us < 8 {
		return int(us)
	}
	p := bits.Len64(us) - 1 // us is in [2^p, 2^(p+1))
	sub := int(us>>(p-3)) & 7
	return min(8+(p-3)*8+sub, latBuckets-1)
}

// latUpper is the largest latency (µs) of bucket i.
func latUpper(i int) uint64 {
	if i < 8 {
		return uint64(i)
	}
	p := (i-8)/8 + 3
	sub := uint64((i - 8) % 8)
	return (9+sub)<<(p-3) - 1
}
