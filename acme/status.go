package acme

import (
	"crypto/x509"
	"errors"
	"sort"
	"time"

	"github.com/mholt/acmez/v3/acme"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/ocsp"
)

// Certificate states, as the API shows them.
const (
	// StatePending: the name is managed and waits for its first order.
	StatePending = "pending"
	// StateObtaining: an order is in progress.
	StateObtaining = "obtaining"
	// StateValid: a certificate is served.
	StateValid = "valid"
	// StateFailed: the last order failed; it is retried with backoff.
	StateFailed = "failed"
)

// nameStatus is what the manager knows about one managed name.
type nameStatus struct {
	Resolver    string
	Routers     []string
	State       string
	Error       string
	Attempts    int
	LastAttempt time.Time
}

// CertificateStatus is one managed name's state, as the API shows it.
type CertificateStatus struct {
	// Domain is the certificate's name.
	Domain string `json:"domain"`
	// Resolver obtains the certificate.
	Resolver string `json:"resolver"`
	// Routers ask for the name.
	Routers []string `json:"routers"`
	// Status is pending, obtaining, valid or failed.
	Status string `json:"status"`
	// Error is the last failure: the CA's problem detail when it gave one.
	Error string `json:"error,omitempty"`
	// Attempts counts the orders made by this process (renewals included).
	Attempts int `json:"attempts,omitempty"`
	// LastAttempt is when the last order started.
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	// NotAfter is the served certificate's expiry.
	NotAfter *time.Time `json:"notAfter,omitempty"`
	// Issuer is the served certificate's issuer.
	Issuer string `json:"issuer,omitempty"`
	// OnDemand is set for a name obtained at its first TLS handshake.
	OnDemand bool `json:"onDemand,omitempty"`
	// OCSP is the served certificate's OCSP staple (certmagic staples
	// certificates whose CA names a responder).
	OCSP *ocsp.Status `json:"ocsp,omitempty"`
}

// RouterStatus is one router's certificate state, as the API shows it.
type RouterStatus struct {
	Request
	// Status is valid when every name has a certificate, failed when a
	// name failed or was refused, else obtaining.
	Status string `json:"status"`
}

// onEvent records certmagic's certificate events for the API and logs
// failures with the domain and the CA's problem.
func (m *Manager) onEvent(r *resolver, event string, data map[string]any) error {
	name, _ := data["identifier"].(string)
	name = normalize(name)
	if name == "" {
		return nil
	}
	switch event {
	case "cert_obtaining":
		m.mu.Lock()
		if st := m.status[name]; st != nil {
			st.State, st.Attempts, st.LastAttempt = StateObtaining, st.Attempts+1, time.Now()
		}
		m.mu.Unlock()
	case "cert_obtained":
		m.setState(name, StateValid, "")
		if m.onOrder != nil {
			m.onOrder(r.name, "success")
		}
		m.log.Info("certificate obtained", zap.String("domain", name), zap.String("resolver", r.name),
			zap.Bool("renewal", data["renewal"] == true))
	case "cert_failed":
		err, _ := data["error"].(error)
		detail := problemDetail(err)
		m.mu.Lock()
		attempts := 0
		if st := m.status[name]; st != nil {
			attempts = st.Attempts
		}
		m.mu.Unlock()
		m.setState(name, StateFailed, detail)
		if m.onOrder != nil {
			m.onOrder(r.name, "failure")
		}
		m.log.Error("certificate order failed; retried with backoff", zap.String("domain", name), zap.String("resolver", r.name),
			zap.String("problem", detail), zap.Int("attempt", attempts), zap.Bool("renewal", data["renewal"] == true))
	}
	return nil
}

// problemDetail returns the CA's problem (type and detail) when err holds
// one, else err's text.
func problemDetail(err error) string {
	if err == nil {
		return "unknown error"
	}
	var p acme.Problem
	if errors.As(err, &p) {
		return p.Error()
	}
	return err.Error()
}

func (m *Manager) setState(name, state, errText string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.status[name]; st != nil {
		st.State, st.Error = state, errText
	}
}

// Certificates returns the state of every managed name, sorted by name.
func (m *Manager) Certificates() []CertificateStatus {
	m.mu.Lock()
	out := make([]CertificateStatus, 0, len(m.status))
	for name, st := range m.status {
		cs := CertificateStatus{Domain: name, Resolver: st.Resolver, Routers: st.Routers, Status: st.State,
			Error: st.Error, Attempts: st.Attempts}
		if !st.LastAttempt.IsZero() {
			t := st.LastAttempt
			cs.LastAttempt = &t
		}
		out = append(out, cs)
	}
	m.mu.Unlock()
	out = append(out, m.onDemandStatuses()...)
	for i := range out {
		for _, c := range m.cache.AllMatchingCertificates(out[i].Domain) {
			if c.Leaf == nil {
				continue
			}
			t := c.Leaf.NotAfter
			if out[i].NotAfter == nil || t.After(*out[i].NotAfter) {
				st := ocsp.Describe(&c.Certificate)
				out[i].NotAfter, out[i].Issuer, out[i].OCSP = &t, c.Leaf.Issuer.String(), &st
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// Leaves returns the leaf of every certificate the manager serves.
func (m *Manager) Leaves() []*x509.Certificate {
	m.mu.Lock()
	names := make([]string, 0, len(m.status))
	for name := range m.status {
		names = append(names, name)
	}
	m.mu.Unlock()
	for _, st := range m.onDemandStatuses() {
		names = append(names, st.Domain)
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	for _, name := range names {
		for _, c := range m.cache.AllMatchingCertificates(name) {
			if c.Leaf != nil && !seen[c.Hash()] {
				seen[c.Hash()] = true
				out = append(out, c.Leaf)
			}
		}
	}
	return out
}

// Routers returns the certificate state of every router with a
// tls.certResolver, sorted by router.
func (m *Manager) Routers() []RouterStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]RouterStatus, 0, len(m.reqs))
	for _, req := range m.reqs {
		rs := RouterStatus{Request: req, Status: StateValid}
		rs.Errors = append([]string(nil), req.Errors...)
		if len(req.Errors) > 0 {
			rs.Status = StateFailed
		}
		for _, d := range req.Domains {
			st := m.status[d]
			switch {
			case st == nil:
			case st.State == StateFailed:
				rs.Status = StateFailed
				rs.Errors = append(rs.Errors, d+": "+st.Error)
			case st.State != StateValid && rs.Status == StateValid:
				rs.Status = StateObtaining
			}
		}
		if len(req.Domains) == 0 && len(rs.Errors) == 0 && !req.OnDemand {
			rs.Status = StateFailed
		}
		out = append(out, rs)
	}
	return out
}
