//go:build !race

package rule

// raceEnabled is set when tests run with the race detector.
const raceEnabled = false
