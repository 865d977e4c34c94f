//go:build race

package rule

// raceEnabled is set when tests run with the race detector, which makes
// sync.Pool (used by regexp) drop items and so allocate.
const raceEnabled = true
