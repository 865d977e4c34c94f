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
	// Errors say why some or all of the router's names are not requested.
	Errors []string `json:"errors,omitempty"`
}

// tlsRouter is what Requests needs of an HTTP or TCP router.
type tlsRouter struct {
	name, resolver, rule string
	domains              []config.Domain
	tcp                  bool
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
	if cfg == nil {
		return nil
	}
	var routers []tlsRouter
	for name, r := range cfg.HTTP.Routers {
		if r != nil && r.TLS != nil && r.TLS.CertResolver != "" {
			routers = append(routers, tlsRouter{name: name, resolver: r.TLS.CertResolver, domains: r.TLS.Domains, rule: r.Rule})
		}
	}
	for name, r := range cfg.TCP.Routers {
		if r != nil && r.TLS != nil && r.TLS.CertResolver != "" && !r.TLS.Passthrough {
			routers = append(routers, tlsRouter{name: name, resolver: r.TLS.CertResolver, domains: r.TLS.Domains, rule: r.Rule, tcp: true})
		}
	}
	sort.Slice(routers, func(i, j int) bool {
		if routers[i].name != routers[j].name {
			return routers[i].name < routers[j].name
		}
		return !routers[i].tcp
	})
	out := make([]Request, 0, len(routers))
	for _, def := range routers {
		req := Request{Router: def.name, TCP: def.tcp, Resolver: def.resolver}
		if !known(req.Resolver) {
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
			} else if len(hosts) == 0 {
				matcher := "Host(...)"
				if def.tcp {
					matcher = "HostSNI(...) name"
				}
				req.Errors = append(req.Errors, "no "+matcher+" in the rule and no tls.domains: no name to request a certificate for")
			}
			candidates = hosts
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
// from the configuration: it must be a valid host name or IP address, and
// wildcards are refused because they need the DNS-01 challenge.
func Decide(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case strings.Contains(name, "*"):
		return fmt.Errorf("%s: wildcard names need the DNS-01 challenge, which is not supported", name)
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
	var d []string
	if tcp {
		r, err := rule.CompileTCP(text)
		if err != nil {
			return nil, err
		}
		d = r.Domains()
	} else {
		r, err := rule.Compile(text)
		if err != nil {
			return nil, err
		}
		d = r.Domains()
	}
	rd.cur[key] = d
	return d, nil
}

// next starts a new generation.
func (rd *ruleDomains) next() {
	rd.prev, rd.cur = rd.cur, make(map[string][]string, len(rd.cur))
}
