package acme

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/caddyserver/certmagic"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

// Request is one router's certificate request, read from the configuration.
type Request struct {
	// Router is the router's qualified name.
	Router string `json:"router"`
	// TCP is set for a TCP router.
	TCP bool `json:"tcp,omitempty"`
	// Resolver is the router's tls.certResolver.
	Resolver string `json:"resolver"`
	// Domains are the names the router needs certificates for.
	Domains []string `json:"domains,omitempty"`
	// OnDemand is set for a router with tls.onDemand: its other names get
	// certificates at their first TLS handshake.
	OnDemand bool `json:"onDemand,omitempty"`
	// Errors say why some or all of the router's names are not requested.
	Errors []string `json:"errors,omitempty"`
}

// tlsRouter is what Requests needs of an HTTP or TCP router.
type tlsRouter struct {
	name, resolver, rule string
	domains              []config.Domain
	tcp, onDemand        bool
}

// Want is a name to obtain a certificate for.
type Want struct {
	// Resolver obtains the certificate.
	Resolver string
	// Routers are the routers that ask for the name, sorted.
	Routers []string
}

// Requests reads the certificate requests of the routers that name a
// resolver in tls.certResolver — HTTP routers, and TCP routers that
// terminate TLS — sorted by router. A router's names are tls.domains[].main
// and .sans when given, else the hosts of the Host (HostSNI for TCP)
// matchers of its rule. domainsOf returns a rule's hosts; known tells
// whether a resolver exists. Names that may not be requested (see Decide)
// are left out with an error, as are routers naming an unknown resolver.
func Requests(cfg *config.Config, known func(resolver string) bool, domainsOf func(rule string, tcp bool) ([]string, error)) []Request {
	return RequestsWith(cfg, func(r string) Capability { return Capability{Known: known(r)} }, domainsOf)
}

// Capability is what a certificate resolver can do, as RequestsWith needs
// it.
type Capability struct {
	// Known: the resolver is defined.
	Known bool
	// DNS01: it solves the DNS-01 challenge, so it may order wildcard names.
	DNS01 bool
	// OnDemand: it has onDemand.ask, so routers with tls.onDemand may use it.
	OnDemand bool
}

// RequestsWith is Requests with what each resolver can do: wildcard names
// need a resolver with dnsChallenge, and tls.onDemand one with onDemand.
// A router with tls.onDemand needs no name in its rule.
func RequestsWith(cfg *config.Config, capability func(resolver string) Capability, domainsOf func(rule string, tcp bool) ([]string, error)) []Request {
	if cfg == nil {
		return nil
	}
	var routers []tlsRouter
	for name, r := range cfg.HTTP.Routers {
		if r != nil && r.TLS != nil && r.TLS.CertResolver != "" {
			routers = append(routers, tlsRouter{name: name, resolver: r.TLS.CertResolver, domains: r.TLS.Domains, rule: r.Rule, onDemand: r.TLS.OnDemand})
		}
	}
	for name, r := range cfg.TCP.Routers {
		if r != nil && r.TLS != nil && r.TLS.CertResolver != "" && !r.TLS.Passthrough {
			routers = append(routers, tlsRouter{name: name, resolver: r.TLS.CertResolver, domains: r.TLS.Domains, rule: r.Rule, tcp: true})
		}
	}
	routers = append(routers, defaultGeneratedRouter(cfg)...) // tls.stores.default.defaultGeneratedCert (defaultcert.go)
	sort.Slice(routers, func(i, j int) bool {
		if routers[i].name != routers[j].name {
			return routers[i].name < routers[j].name
		}
		return !routers[i].tcp
	})
	out := make([]Request, 0, len(routers))
	for _, def := range routers {
		req := Request{Router: def.name, TCP: def.tcp, Resolver: def.resolver, OnDemand: def.onDemand}
		rc := capability(req.Resolver)
		if !rc.Known {
			req.Errors = append(req.Errors, fmt.Sprintf("certificate resolver %q is not defined", req.Resolver))
			out = append(out, req)
			continue
		}
		var candidates []string
		if len(def.domains) > 0 {
			for _, d := range def.domains {
				candidates = append(candidates, d.Main)
				candidates = append(candidates, d.SANs...)
			}
		} else {
			hosts, err := domainsOf(def.rule, def.tcp)
			if err != nil {
				req.Errors = append(req.Errors, fmt.Sprintf("rule: %v", err))
			} else if len(hosts) == 0 && !def.onDemand {
				matcher := "Host(...)"
				if def.tcp {
					matcher = "HostSNI(...) name"
				}
				req.Errors = append(req.Errors, "no "+matcher+" in the rule and no tls.domains: no name to request a certificate for")
			}
			candidates = hosts
		}
		if def.onDemand && !rc.OnDemand {
			req.Errors = append(req.Errors, fmt.Sprintf("tls.onDemand: certificate resolver %q has no onDemand.ask: on-demand TLS is refused", req.Resolver))
		}
		seen := make(map[string]bool, len(candidates))
		for _, c := range candidates {
			n := normalize(c)
			if seen[n] {
				continue
			}
			seen[n] = true
			if err := Decide(n); err != nil {
				req.Errors = append(req.Errors, err.Error())
				continue
			}
			if strings.HasPrefix(n, "*.") && !rc.DNS01 {
				req.Errors = append(req.Errors, fmt.Sprintf("%s: a wildcard name needs the DNS-01 challenge: certificate resolver %q has no dnsChallenge", n, req.Resolver))
				continue
			}
			req.Domains = append(req.Domains, n)
		}
		sort.Strings(req.Domains)
		out = append(out, req)
	}
	return out
}

// Wanted merges requests into the names to manage. When routers with
// different resolvers ask for one name, the first router (by name) wins
// and the others get an error in reqs.
func Wanted(reqs []Request) map[string]*Want {
	out := make(map[string]*Want)
	for i := range reqs {
		r := &reqs[i]
		kept := r.Domains[:0:0]
		for _, d := range r.Domains {
			w := out[d]
			switch {
			case w == nil:
				out[d] = &Want{Resolver: r.Resolver, Routers: []string{r.Router}}
			case w.Resolver == r.Resolver:
				w.Routers = append(w.Routers, r.Router)
			default:
				r.Errors = append(r.Errors, fmt.Sprintf("%s: already requested from resolver %q by router %s", d, w.Resolver, w.Routers[0]))
				continue
			}
			kept = append(kept, d)
		}
		r.Domains = kept
	}
	return out
}

// Decide tells whether a certificate may be requested for name, a name
// from the configuration: it must be a valid host name or IP address, or
// a wildcard of one label (*.example.com; ordered with DNS-01 only).
func Decide(name string) error {
	wild := strings.HasPrefix(name, "*.")
	host := strings.TrimPrefix(name, "*.")
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case strings.Contains(host, "*"):
		return fmt.Errorf("%s: a wildcard is only allowed as the whole first label (*.example.com)", name)
	case wild && net.ParseIP(host) != nil:
		return fmt.Errorf("%s: not a name a certificate can be issued for", name)
	case wild:
		return Decide(host)
	case net.ParseIP(name) != nil:
		return nil
	case !certmagic.SubjectQualifiesForCert(name) || strings.ContainsAny(name, "/:,?_") || !strings.Contains(name, "."):
		return fmt.Errorf("%s: not a name a certificate can be issued for", name)
	}
	return nil
}

// normalize lower-cases a name and drops a trailing dot.
func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// ruleDomains returns a rule's hosts, compiling each rule text once per
// generation: entries not used by the last Requests call are dropped.
type ruleDomains struct {
	prev, cur map[string][]string
}

func (rd *ruleDomains) get(text string, tcp bool) ([]string, error) {
	key := text
	if tcp {
		key = "tcp\x00" + text
	}
	if d, ok := rd.cur[key]; ok {
		return d, nil
	}
	if d, ok := rd.prev[key]; ok {
		rd.cur[key] = d
		return d, nil
	}
	d, err := rule.DomainsAnySyntax(text, tcp) // v3, else a router's ruleSyntax: v2
	if err != nil {
		return nil, err
	}
	rd.cur[key] = d
	return d, nil
}

// next starts a new generation.
func (rd *ruleDomains) next() {
	rd.prev, rd.cur = rd.cur, make(map[string][]string, len(rd.cur))
}
