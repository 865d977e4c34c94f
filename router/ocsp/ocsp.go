// Package ocsp staples OCSP responses to the certificates Ferry serves from
// files (tls.certificates) and describes staples for the API. Certificates
// from ACME are stapled by certmagic; Describe reads their staples too.
//
// A Stapler fetches the response of every tracked certificate whose leaf
// names an OCSP responder and whose file holds the issuer after the leaf,
// in the background, and refreshes it halfway through its validity. Only
// "good" responses are stapled; a handshake costs one map look-up.
package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	xocsp "golang.org/x/crypto/ocsp"
)

// Staple states, as the API shows them.
const (
	// StateGood: a good response is stapled.
	StateGood = "good"
	// StateRevoked: the responder says the certificate is revoked; nothing
	// is stapled.
	StateRevoked = "revoked"
	// StateUnknown: the responder does not know the certificate.
	StateUnknown = "unknown"
	// StatePending: the first response has not arrived yet.
	StatePending = "pending"
	// StateError: the last fetch failed (a previous good staple is kept
	// until it expires).
	StateError = "error"
	// StateNone: no staple is possible: the certificate names no responder,
	// or its file has no issuer certificate after the leaf.
	StateNone = "none"
)

// Bounds of fetching.
const (
	fetchTimeout   = 10 * time.Second
	maxResponse    = 64 << 10
	minRefresh     = time.Minute
	maxRefresh     = 24 * time.Hour
	noNextUpdate   = time.Hour // refresh interval when the response has no nextUpdate
	maxRetryDelay  = time.Hour
	firstRetryWait = 30 * time.Second
)

// Status is the OCSP state of one certificate.
type Status struct {
	// Names are the certificate's DNS names and IP addresses.
	Names []string `json:"names,omitempty"`
	// Serial is the certificate's serial number in hexadecimal.
	Serial string `json:"serial,omitempty"`
	// Responder is the OCSP responder the certificate names.
	Responder string `json:"responder,omitempty"`
	// State is good, revoked, unknown, pending, error or none.
	State string `json:"state"`
	// Stapled tells whether handshakes carry a staple.
	Stapled bool `json:"stapled"`
	// ThisUpdate and NextUpdate bound the response's validity.
	ThisUpdate *time.Time `json:"thisUpdate,omitempty"`
	NextUpdate *time.Time `json:"nextUpdate,omitempty"`
	// Error says why there is no good staple.
	Error string `json:"error,omitempty"`
}

// Describe reads a certificate's staple (nil when none) for the API.
func Describe(cert *tls.Certificate) Status {
	leaf, issuer := chain(cert)
	st := Status{State: StateNone}
	if leaf != nil {
		st.Names, st.Serial = names(leaf), fmt.Sprintf("%x", leaf.SerialNumber)
		if len(leaf.OCSPServer) > 0 {
			st.Responder = leaf.OCSPServer[0]
		}
	}
	if len(cert.OCSPStaple) == 0 {
		return st
	}
	resp, err := xocsp.ParseResponse(cert.OCSPStaple, issuer)
	if err != nil {
		st.State, st.Error = StateError, err.Error()
		return st
	}
	st.Stapled = true
	st.setResponse(resp)
	return st
}

func (st *Status) setResponse(resp *xocsp.Response) {
	switch resp.Status {
	case xocsp.Good:
		st.State = StateGood
	case xocsp.Revoked:
		st.State = StateRevoked
	default:
		st.State = StateUnknown
	}
	tu := resp.ThisUpdate
	st.ThisUpdate = &tu
	if !resp.NextUpdate.IsZero() {
		nu := resp.NextUpdate
		st.NextUpdate = &nu
	}
}

// chain returns a certificate's leaf and the issuer after it, each nil
// when missing or unreadable.
func chain(cert *tls.Certificate) (leaf, issuer *x509.Certificate) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil
	}
	leaf = cert.Leaf
	if leaf == nil {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	if len(cert.Certificate) > 1 {
		issuer, _ = x509.ParseCertificate(cert.Certificate[1])
	}
	return leaf, issuer
}

func names(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// Stapler keeps OCSP staples of tracked certificates fresh. Its methods
// are safe for concurrent use, and a nil *Stapler does nothing.
type Stapler struct {
	log    *zap.Logger
	client *http.Client
	kick   chan struct{}

	mu      sync.Mutex
	entries map[*tls.Certificate]*entry
	stapled atomic.Pointer[map[*tls.Certificate]*tls.Certificate] // the handshakes' view
}

// entry is one tracked certificate.
type entry struct {
	cert         *tls.Certificate
	leaf, issuer *x509.Certificate
	status       Status
	staple       []byte    // the good response served, nil when none
	expires      time.Time // of staple
	due          time.Time // next fetch; zero: never
	failures     int
}

// New returns a Stapler; Run does its work.
func New(log *zap.Logger) *Stapler {
	s := &Stapler{
		log:     log,
		client:  &http.Client{Timeout: fetchTimeout},
		kick:    make(chan struct{}, 1),
		entries: map[*tls.Certificate]*entry{},
	}
	empty := map[*tls.Certificate]*tls.Certificate{}
	s.stapled.Store(&empty)
	return s
}

// Track makes certs the tracked certificates: new ones are fetched at
// once, those left out are forgotten. Certificates are told apart by
// pointer (the router keeps the pointer of an unchanged file).
func (s *Stapler) Track(certs []*tls.Certificate) {
	if s == nil {
		return
	}
	s.mu.Lock()
	next := make(map[*tls.Certificate]*entry, len(certs))
	now := time.Now()
	for _, c := range certs {
		if e := s.entries[c]; e != nil {
			next[c] = e
			continue
		}
		e := &entry{cert: c}
		e.leaf, e.issuer = chain(c)
		e.status = Describe(&tls.Certificate{Certificate: c.Certificate, Leaf: e.leaf})
		switch {
		case e.leaf == nil:
			e.status.Error = "unreadable certificate"
		case len(e.leaf.OCSPServer) == 0:
			e.status.Error = "the certificate names no OCSP responder"
		case e.issuer == nil:
			e.status.Error = "no issuer certificate after the leaf in the certificate file"
		default:
			e.status.State, e.due = StatePending, now
		}
		next[c] = e
	}
	s.entries = next
	s.publish()
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Staple returns c with its OCSP staple, or c itself when it has none.
func (s *Stapler) Staple(c *tls.Certificate) *tls.Certificate {
	if s == nil {
		return c
	}
	if sc := (*s.stapled.Load())[c]; sc != nil {
		return sc
	}
	return c
}

// Statuses returns the state of every tracked certificate, by first name.
func (s *Stapler) Statuses() []Status {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	out := make([]Status, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.status)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i].Names, ",") < strings.Join(out[j].Names, ",") })
	return out
}

// Run fetches and refreshes staples until ctx ends.
func (s *Stapler) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.dropExpired(time.Now())
		for _, e := range s.due(time.Now()) {
			s.fetch(ctx, e)
		}
		wait := s.nextWait(time.Now())
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-timer.C:
		}
	}
}

// dropExpired stops stapling responses past their nextUpdate.
func (s *Stapler) dropExpired(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, e := range s.entries {
		if e.staple != nil && !e.expires.IsZero() && !now.Before(e.expires) {
			e.staple, e.status.Stapled, changed = nil, false, true
		}
	}
	if changed {
		s.publish()
	}
}

// due returns the entries to fetch now.
func (s *Stapler) due(now time.Time) []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*entry
	for _, e := range s.entries {
		if !e.due.IsZero() && !now.Before(e.due) {
			out = append(out, e)
		}
	}
	return out
}

// nextWait returns the time until the next fetch (at most an hour).
func (s *Stapler) nextWait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := time.Hour
	for _, e := range s.entries {
		if !e.due.IsZero() {
			wait = min(wait, max(e.due.Sub(now), time.Millisecond))
		}
		if e.staple != nil && !e.expires.IsZero() {
			wait = min(wait, max(e.expires.Sub(now), time.Millisecond)) // drop it when it expires
		}
	}
	return wait
}

// fetch asks the responder of e and records the answer.
func (s *Stapler) fetch(ctx context.Context, e *entry) {
	raw, resp, err := s.request(ctx, e)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries[e.cert] != e {
		return // no longer tracked
	}
	if err != nil {
		e.failures++
		e.due = now.Add(min(firstRetryWait<<min(e.failures-1, 10), maxRetryDelay))
		if e.staple != nil && now.After(e.expires) {
			e.staple = nil
		}
		e.status.State, e.status.Error, e.status.Stapled = StateError, err.Error(), e.staple != nil
		s.log.Warn("OCSP staple not fetched", zap.Strings("names", e.status.Names), zap.String("responder", e.status.Responder),
			zap.Error(err), zap.Duration("retryIn", e.due.Sub(now)))
		s.publish()
		return
	}
	e.failures = 0
	e.status.Error = ""
	e.status.setResponse(resp)
	if resp.Status == xocsp.Good {
		e.staple, e.expires = raw, resp.NextUpdate
		s.log.Info("OCSP staple fetched", zap.Strings("names", e.status.Names), zap.Time("nextUpdate", resp.NextUpdate))
	} else {
		e.staple = nil
		s.log.Error("OCSP responder does not vouch for the certificate: not stapled", zap.Strings("names", e.status.Names),
			zap.String("state", e.status.State))
	}
	e.status.Stapled = e.staple != nil
	e.due = now.Add(refreshIn(resp, now))
	s.publish()
}

// refreshIn returns when to fetch again: halfway through the response's
// validity, within [minRefresh, maxRefresh].
func refreshIn(resp *xocsp.Response, now time.Time) time.Duration {
	if resp.NextUpdate.IsZero() {
		return noNextUpdate
	}
	d := resp.ThisUpdate.Add(resp.NextUpdate.Sub(resp.ThisUpdate) / 2).Sub(now)
	return min(max(d, minRefresh), maxRefresh)
}

// request sends e's OCSP request and checks the signed answer.
func (s *Stapler) request(ctx context.Context, e *entry) ([]byte, *xocsp.Response, error) {
	body, err := xocsp.CreateRequest(e.leaf, e.issuer, &xocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, nil, fmt.Errorf("ocsp: request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.leaf.OCSPServer[0], bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("ocsp: %w", err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	res, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("ocsp: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("ocsp: reading the response: %w", err)
	case res.StatusCode != http.StatusOK:
		return nil, nil, fmt.Errorf("ocsp: responder answered %s", res.Status)
	case len(raw) > maxResponse:
		return nil, nil, errors.New("ocsp: response too large")
	}
	resp, err := xocsp.ParseResponseForCert(raw, e.leaf, e.issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("ocsp: response: %w", err)
	}
	return raw, resp, nil
}

// publish rebuilds the handshakes' view. Callers hold s.mu.
func (s *Stapler) publish() {
	m := make(map[*tls.Certificate]*tls.Certificate, len(s.entries))
	now := time.Now()
	for c, e := range s.entries {
		if e.staple != nil && (e.expires.IsZero() || now.Before(e.expires)) {
			cp := *c
			cp.OCSPStaple = e.staple
			m[c] = &cp
		}
	}
	s.stapled.Store(&m)
}
