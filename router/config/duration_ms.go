package config

import "time"

// DurationMS is a duration written as "100ms" or "2s" where a bare number
// means milliseconds, as Traefik reads a TCP load balancer's
// terminationDelay (in files, labels and keys alike).
type DurationMS time.Duration

// UnmarshalText parses "250ms", "2s" or a bare number of milliseconds.
func (d *DurationMS) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b), time.Millisecond, "want milliseconds, e.g. 100, or 100ms, 2s")
	*d = DurationMS(v)
	return err
}

// MarshalText writes the duration as Go's time.Duration string.
func (d DurationMS) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// String returns the duration as text.
func (d DurationMS) String() string { return time.Duration(d).String() }
