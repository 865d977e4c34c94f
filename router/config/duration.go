package config

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration written as "10s" or "1m30s"; a bare number means seconds.
type Duration time.Duration

// UnmarshalText parses "10s", "250ms" or a bare number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b), time.Second, "want e.g. 10s, 250ms")
	*d = Duration(v)
	return err
}

// parseDuration reads Go's duration syntax, or a bare number of unit;
// hint ends the error.
func parseDuration(s string, unit time.Duration, hint string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(unit)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (%s)", s, hint)
	}
	return v, nil
}

// MarshalText writes the duration as Go's time.Duration string.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// String returns the duration as text.
func (d Duration) String() string { return time.Duration(d).String() }
