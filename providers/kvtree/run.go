package kvtree

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
)

// Backoff is the wait between attempts to reach a store that does not
// answer: it doubles from Min up to Max, and Reset starts over.
type Backoff struct {
	// Min is the first wait.
	Min time.Duration
	// Max bounds the wait.
	Max  time.Duration
	next time.Duration
}

// Next returns the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	if b.next < b.Min {
		b.next = b.Min
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d
}

// Reset makes the next wait Min again.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits d or until ctx ends; false if ctx ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Health logs a store's reachability once per change of state.
type Health struct {
	// Log receives the messages.
	Log *zap.Logger
	// What names the store in messages ("etcd", "consul kv").
	What string
	down bool
}

// Fail records a failed attempt, retried after retry (0 when the retry is
// not the caller's); only the first of a series is logged as a warning.
func (h *Health) Fail(err error, retry time.Duration) {
	fields := []zap.Field{zap.Error(err)}
	if retry > 0 {
		fields = append(fields, zap.Duration("retry", retry))
	}
	if !h.down {
		h.down = true
		h.Log.Warn(h.What+" unreachable; the last configuration keeps serving", fields...)
		return
	}
	h.Log.Debug(h.What+" still unreachable", fields...)
}

// OK records a successful attempt; it logs the recovery after failures.
func (h *Health) OK() {
	if h.down {
		h.down = false
		h.Log.Info(h.What + " reachable again")
	}
}

// Publisher sends a provider's updates, leaving out one equal to the last.
type Publisher struct {
	// Out is the provider's output.
	Out chan<- providers.Update
	// Log receives a debug line per update.
	Log  *zap.Logger
	last *providers.Update
}

// Send sends u unless it equals the last update sent; false if ctx ended
// first.
func (p *Publisher) Send(ctx context.Context, u providers.Update) bool {
	if p.last != nil && reflect.DeepEqual(*p.last, u) {
		return true
	}
	select {
	case p.Out <- u:
		p.last = &u
		p.Log.Debug("configuration sent",
			zap.Int("routers", len(u.Config.HTTP.Routers)),
			zap.Int("services", len(u.Config.HTTP.Services)),
			zap.Int("problems", len(u.Problems)))
		return true
	case <-ctx.Done():
		return false
	}
}

// TLS is a client's TLS settings for reaching a store.
type TLS struct {
	// CA is the PEM file of the certificate authorities that sign the
	// store's certificate; the system's when empty.
	CA string `json:"ca,omitempty"`
	// Cert is the PEM file of the client certificate, for mutual TLS.
	Cert string `json:"cert,omitempty"`
	// Key is the PEM file of the client certificate's private key.
	Key string `json:"key,omitempty"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// Config returns the crypto/tls configuration, reading the files.
func (t *TLS) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls: read ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca %s: no PEM certificate", t.CA)
		}
		c.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
