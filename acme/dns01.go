package acme

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// DNSChallenge configures the DNS-01 challenge, the only one a CA accepts
// for wildcard names (certificatesResolvers.<name>.acme.dnsChallenge).
// When it is set, the resolver solves every name with DNS-01.
type DNSChallenge struct {
	// Provider is the DNS provider's name as lego and Traefik spell it
	// (rfc2136, cloudflare, route53, digitalocean, gandiv5, ovh, exec,
	// httpreq, manual, …). Its credentials come from the environment
	// variables lego documents for it (RFC2136_NAMESERVER,
	// RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET, CF_DNS_API_TOKEN, AWS_*,
	// EXEC_PATH, …), never from this file.
	Provider string `json:"provider"`
	// Resolvers are the DNS servers (host or host:port, port 53 by
	// default) asked for the zone of a name and whether the TXT record is
	// visible yet; default the system's (/etc/resolv.conf).
	Resolvers []string `json:"resolvers"`
	// Propagation tunes the wait between writing the TXT record and asking
	// the CA to validate it.
	Propagation *Propagation `json:"propagation"`
	// DelayBeforeCheck is Traefik's older name of
	// propagation.delayBeforeChecks.
	DelayBeforeCheck config.Duration `json:"delayBeforeCheck"`
	// DisablePropagationCheck is Traefik's older name of
	// propagation.disableChecks.
	DisablePropagationCheck bool `json:"disablePropagationCheck"`
}

// Propagation tunes the wait for a DNS-01 TXT record.
type Propagation struct {
	// DelayBeforeChecks waits this long after writing the record before
	// the first check (or before validation when checks are off).
	DelayBeforeChecks config.Duration `json:"delayBeforeChecks"`
	// DisableChecks skips every visibility check: the CA is asked to
	// validate after delayBeforeChecks.
	DisableChecks bool `json:"disableChecks"`
	// DisableANSChecks skips asking the zone's authoritative name servers
	// (on port 53) directly; only the resolvers are asked.
	DisableANSChecks bool `json:"disableANSChecks"`
	// RequireAllRNS requires every resolver to see the record, not just one.
	RequireAllRNS bool `json:"requireAllRNS"`
}

// dnsQueryTimeout bounds one DNS query of the propagation check.
const dnsQueryTimeout = 5 * time.Second

// check reports the problems of the DNS-01 settings; at is the key path
// of the resolver's acme section.
func (d *DNSChallenge) check(at string) []string {
	at += ".dnsChallenge"
	var out []string
	switch {
	case d.Provider == "":
		out = append(out, at+".provider: missing (a lego DNS provider name such as rfc2136 or cloudflare)")
	case !dnsProviderKnown(d.Provider):
		_, err := newDNSProvider(d.Provider)
		out = append(out, fmt.Sprintf("%s.provider: %v", at, err))
	}
	for i, r := range d.Resolvers {
		if _, err := resolverAddress(r); err != nil {
			out = append(out, fmt.Sprintf("%s.resolvers[%d]: %v", at, i, err))
		}
	}
	if d.DelayBeforeCheck < 0 {
		out = append(out, at+".delayBeforeCheck: negative")
	}
	if p := d.Propagation; p != nil && p.DelayBeforeChecks < 0 {
		out = append(out, at+".propagation.delayBeforeChecks: negative")
	}
	return out
}

// resolverAddress returns a resolver as host:port, port 53 by default.
func resolverAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address")
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	host := strings.Trim(s, "[]")
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q is not a host or host:port", s)
	}
	return net.JoinHostPort(host, "53"), nil
}

// propagation returns the effective settings, Traefik's older names
// included.
func (d *DNSChallenge) propagation() Propagation {
	var p Propagation
	if d.Propagation != nil {
		p = *d.Propagation
	}
	if p.DelayBeforeChecks == 0 {
		p.DelayBeforeChecks = d.DelayBeforeCheck
	}
	p.DisableChecks = p.DisableChecks || d.DisablePropagationCheck
	return p
}

// dnsSolver solves DNS-01 challenges with a lego DNS provider: it is
// certmagic's (acmez's) solver around lego's challenge.Provider.
type dnsSolver struct {
	log       *zap.Logger
	name      string // the provider's name, for errors
	provider  challenge.Provider
	resolvers []string // host:port; empty: the system's
	prop      Propagation
}

var (
	_ acmez.Solver = (*dnsSolver)(nil)
	_ acmez.Waiter = (*dnsSolver)(nil)
)

// newDNSSolver returns the DNS-01 solver of a resolver's settings, or nil
// when d is nil. The provider reads its credentials from the environment.
func newDNSSolver(resolver string, d *DNSChallenge, log *zap.Logger) (acmez.Solver, error) {
	if d == nil {
		return nil, nil
	}
	p, err := newDNSProvider(d.Provider)
	if err != nil {
		return nil, fmt.Errorf("acme: resolver %s: dnsChallenge.provider %s: %w", resolver, d.Provider, err)
	}
	s := &dnsSolver{log: log.Named("dns01"), name: d.Provider, provider: p, prop: d.propagation()}
	for _, r := range d.Resolvers {
		a, err := resolverAddress(r)
		if err != nil {
			return nil, fmt.Errorf("acme: resolver %s: dnsChallenge.resolvers: %w", resolver, err)
		}
		s.resolvers = append(s.resolvers, a)
	}
	return s, nil
}

// challengeDomain is the name whose _acme-challenge record proves control:
// the authorization's identifier (example.com for *.example.com).
func challengeDomain(chal acme.Challenge) string {
	return strings.TrimPrefix(chal.Identifier.Value, "*.")
}

// Present writes the TXT record through the provider.
func (s *dnsSolver) Present(ctx context.Context, chal acme.Challenge) error {
	domain := challengeDomain(chal)
	if err := s.provider.Present(ctx, domain, chal.Token, chal.KeyAuthorization); err != nil {
		return fmt.Errorf("dns-01: provider %s: writing the TXT record of %s: %w", s.name, domain, err)
	}
	s.log.Info("DNS-01 TXT record written", zap.String("domain", domain), zap.String("provider", s.name))
	return nil
}

// CleanUp removes the TXT record through the provider.
func (s *dnsSolver) CleanUp(ctx context.Context, chal acme.Challenge) error {
	domain := challengeDomain(chal)
	if err := s.provider.CleanUp(ctx, domain, chal.Token, chal.KeyAuthorization); err != nil {
		s.log.Warn("DNS-01 TXT record not removed", zap.String("domain", domain), zap.String("provider", s.name), zap.Error(err))
		return fmt.Errorf("dns-01: provider %s: removing the TXT record of %s: %w", s.name, domain, err)
	}
	s.log.Info("DNS-01 TXT record removed", zap.String("domain", domain), zap.String("provider", s.name))
	return nil
}

// Wait returns once the TXT record is visible (see Propagation), or when
// the provider's propagation timeout (lego's default 60 s) runs out.
func (s *dnsSolver) Wait(ctx context.Context, chal acme.Challenge) error {
	if err := sleep(ctx, time.Duration(s.prop.DelayBeforeChecks)); err != nil {
		return err
	}
	if s.prop.DisableChecks {
		return nil
	}
	domain := challengeDomain(chal)
	info := dns01.GetChallengeInfo(ctx, domain, chal.KeyAuthorization)
	timeout, interval := dns01.DefaultPropagationTimeout, dns01.DefaultPollingInterval
	if pt, ok := s.provider.(challenge.ProviderTimeout); ok {
		timeout, interval = pt.Timeout()
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ok, err := s.visible(ctx, info.EffectiveFQDN, info.Value)
		if ok {
			s.log.Info("DNS-01 TXT record visible", zap.String("domain", domain), zap.String("record", info.EffectiveFQDN),
				zap.Duration("after", time.Since(start)))
			return nil
		}
		if time.Now().Add(interval).After(deadline) {
			if err == nil {
				err = errors.New("record not found")
			}
			return fmt.Errorf("dns-01: %s: TXT record not visible after %s: %w", info.EffectiveFQDN, timeout, err)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

// visible reports whether the resolvers (one, or all with requireAllRNS)
// and, unless disabled, every authoritative name server of the zone serve
// the TXT record fqdn with value.
func (s *dnsSolver) visible(ctx context.Context, fqdn, value string) (bool, error) {
	resolvers := s.resolvers
	if len(resolvers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return false, fmt.Errorf("system resolvers: %w", err)
		}
		for _, srv := range cc.Servers {
			resolvers = append(resolvers, net.JoinHostPort(srv, cc.Port))
		}
	}
	seen, var1 := 0, error(nil)
	for _, ns := range resolvers {
		ok, err := hasTXT(ctx, ns, fqdn, value, true)
		if ok {
			seen++
		} else if err != nil {
			var1 = err
		}
	}
	switch {
	case seen == 0, s.prop.RequireAllRNS && seen < len(resolvers):
		return false, var1
	case s.prop.DisableANSChecks:
		return true, nil
	}
	auth, err := authoritativeServers(ctx, fqdn, resolvers)
	if err != nil {
		return false, err
	}
	for _, ns := range auth {
		if ok, err := hasTXT(ctx, ns, fqdn, value, false); !ok {
			if err == nil {
				err = fmt.Errorf("authoritative server %s does not serve it yet", ns)
			}
			return false, err
		}
	}
	return true, nil
}

// hasTXT asks server for the TXT records of fqdn and reports whether one
// is value.
func hasTXT(ctx context.Context, server, fqdn, value string, recursive bool) (bool, error) {
	r, err := query(ctx, server, fqdn, dns.TypeTXT, recursive)
	if err != nil {
		return false, err
	}
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && slices.Contains(txt.Txt, value) {
			return true, nil
		}
	}
	return false, nil
}

// query sends one question to server over UDP, then TCP when truncated.
func query(ctx context.Context, server, name string, qtype uint16, recursive bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = recursive
	m.SetEdns0(4096, false)
	c := &dns.Client{Timeout: dnsQueryTimeout}
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", server, err)
	}
	return r, nil
}

// authoritativeServers returns the addresses (port 53) of the name servers
// of fqdn's zone, found through resolvers.
func authoritativeServers(ctx context.Context, fqdn string, resolvers []string) ([]string, error) {
	zone, err := dns01.DefaultClient().FindZoneByFqdnCustom(ctx, fqdn, resolvers)
	if err != nil {
		return nil, fmt.Errorf("zone of %s: %w", fqdn, err)
	}
	var names []string
	for _, ns := range resolvers {
		r, err := query(ctx, ns, zone, dns.TypeNS, true)
		if err != nil {
			continue
		}
		for _, rr := range r.Answer {
			if n, ok := rr.(*dns.NS); ok {
				names = append(names, n.Ns)
			}
		}
		if len(names) > 0 {
			break
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no NS records for zone %s", zone)
	}
	var addrs []string
	for _, n := range names {
		for _, ns := range resolvers {
			r, err := query(ctx, ns, n, dns.TypeA, true)
			if err != nil {
				continue
			}
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok {
					addrs = append(addrs, net.JoinHostPort(a.A.String(), "53"))
				}
			}
			break
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for the name servers %v of zone %s", names, zone)
	}
	return addrs, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setLegoResolvers points lego's DNS client (zone and CNAME look-ups of
// every provider; one per process in lego) at the resolvers of every
// dnsChallenge, when some are given.
func setLegoResolvers(resolvers map[string]*Config) {
	var all []string
	for _, name := range sortedKeys(resolvers) {
		c := resolvers[name]
		if c == nil || c.DNSChallenge == nil {
			continue
		}
		for _, r := range c.DNSChallenge.Resolvers {
			if a, err := resolverAddress(r); err == nil && !slices.Contains(all, a) {
				all = append(all, a)
			}
		}
	}
	if len(all) == 0 {
		return
	}
	opts := dns01.NewOptions()
	opts.RecursiveNameservers = all
	dns01.SetDefaultClient(dns01.NewClient(opts))
}
