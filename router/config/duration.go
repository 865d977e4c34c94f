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
	s := string(b)
	if s == "" {
		*d = 0
		return nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 10s, 250ms)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go's time.Duration string.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// String returns the duration as text.
func (d Duration) String() string { return time.Duration(d).String() }
