package rule

import (
	"errors"
	"net/netip"
	"slices"
)

// TCPRequest is what TCP matchers see: the facts known about a connection
// once its TLS ClientHello, if any, has been read.
type TCPRequest struct {
	// SNI is the lower-case server name of the ClientHello without a trailing
	// dot; empty for connections without TLS or without SNI.
	SNI string
	// ALPN lists the protocols the client offered, in its order.
	ALPN []string
	// ClientIP is the client's address (from the PROXY header when a trusted
	// peer sent one), unmapped from IPv4-in-IPv6.
	ClientIP netip.Addr
}

// tcpV3 is the matcher table of TCP rules in syntax v3: one value per
// matcher. It is never modified.
var tcpV3 = &matcherTable[TCPRequest]{syntax: SyntaxV3, specs: map[string]matcherSpec[TCPRequest]{
	"HostSNI":       {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildHostSNI, hosts: sniHostsOf, domains: sniHostsOf, anyOf: merging(buildHostSNI)},
	"HostSNIRegexp": {minArgs: 1, maxArgs: 1, cost: costRegexp, build: buildHostSNIRegexp},
	"ClientIP":      {minArgs: 1, maxArgs: 1, cost: costScan, build: buildTCPClientIP, anyOf: merging(buildTCPClientIP)},
	"ALPN":          {minArgs: 1, maxArgs: 1, cost: costCheap, build: buildALPN, anyOf: merging(buildALPN)},
}}

// tcpV2 is the matcher table of TCP rules in syntax v2: several values per
// matcher, any of which may match, and {name:re} templates in
// HostSNIRegexp. It is never modified.
var tcpV2 = &matcherTable[TCPRequest]{syntax: SyntaxV2, specs: map[string]matcherSpec[TCPRequest]{
	"HostSNI":       {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildHostSNI, hosts: sniHostsOf, domains: sniHostsOf},
	"HostSNIRegexp": {minArgs: 1, maxArgs: -1, cost: costRegexp, build: buildHostSNIRegexpV2},
	"ClientIP":      {minArgs: 1, maxArgs: -1, cost: costScan, build: buildTCPClientIP},
	"ALPN":          {minArgs: 1, maxArgs: -1, cost: costCheap, build: buildALPN},
}}

// TCPRule is a compiled TCP rule. It is immutable and safe for concurrent use.
type TCPRule struct {
	p *program[TCPRequest]
}

// CompileTCP parses and compiles a TCP rule in rule syntax v3 (see
// CompileTCPSyntax for v2): HostSNI, HostSNIRegexp, ClientIP and ALPN with
// &&, || and !. HostSNI(`*`) matches every connection, with or without
// TLS. Errors are *ParseError values.
func CompileTCP(expr string) (*TCPRule, error) { return CompileTCPSyntax(expr, SyntaxV3) }

// Syntax returns the rule syntax the rule was compiled with.
func (r *TCPRule) Syntax() Syntax { return r.p.syntax }

// Match reports whether the connection matches the rule.
func (r *TCPRule) Match(req *TCPRequest) bool {
	if req == nil {
		return false
	}
	return r.p.match(req)
}

// Hosts returns the exact server names, sorted, one of which a connection
// must present for the rule to match, with the same conventions as
// Rule.Hosts: nil when the rule can match any name (HostSNI(`*`),
// HostSNIRegexp, ClientIP alone), an empty slice when no name can match.
func (r *TCPRule) Hosts() []string {
	if r.p.hosts == nil {
		return nil
	}
	return slices.Clone(r.p.hosts)
}

// Domains returns the names of HostSNI matchers anywhere in the rule, except
// under a negation and except `*`, sorted; nil when there are none.
func (r *TCPRule) Domains() []string { return slices.Clone(r.p.domains) }

// String returns the canonical form of the rule.
func (r *TCPRule) String() string { return r.p.text }

var errSNIWildcard = errors.New("`*` matches every connection and must be the only argument")

// sniArgs validates HostSNI arguments; all is true for HostSNI(`*`).
func sniArgs(args []string) (hosts []string, all bool, err error) {
	for i, a := range args {
		if a == "*" {
			if len(args) > 1 {
				return nil, false, argErr(i, errSNIWildcard)
			}
			return nil, true, nil
		}
		if a != "" && a[0] == '[' || a != "" && a[len(a)-1] == ']' {
			return nil, false, argErr(i, errors.New("a server name is not an IP literal"))
		}
		h, err := hostArg(a)
		if errors.Is(err, errHostWildcard) {
			err = errors.New("wildcards are not supported, use HostSNIRegexp")
		}
		if err != nil {
			return nil, false, argErr(i, err)
		}
		hosts = append(hosts, h)
	}
	return hosts, false, nil
}

func buildHostSNI(args []string) (matchFunc[TCPRequest], error) {
	hosts, all, err := sniArgs(args)
	if err != nil {
		return nil, err
	}
	if all {
		return func(*TCPRequest) bool { return true }, nil
	}
	if len(hosts) == 1 {
		h := hosts[0]
		return func(r *TCPRequest) bool { return r.SNI == h }, nil
	}
	return func(r *TCPRequest) bool { return slices.Contains(hosts, r.SNI) }, nil
}

// sniHostsOf is the hosts function of HostSNI: nil for `*`.
func sniHostsOf(args []string) []string {
	hosts, all, err := sniArgs(args)
	if err != nil || all {
		return nil
	}
	return hosts
}

func buildHostSNIRegexp(args []string) (matchFunc[TCPRequest], error) {
	if err := asciiArg(0, args[0]); err != nil {
		return nil, err
	}
	res, err := compileRegexps(args, 0)
	if err != nil {
		return nil, err
	}
	return func(r *TCPRequest) bool { return matchAny(res, r.SNI) }, nil
}

func buildTCPClientIP(args []string) (matchFunc[TCPRequest], error) {
	prefixes := make([]netip.Prefix, len(args))
	for i, a := range args {
		p, err := ipRange(a)
		if err != nil {
			return nil, argErr(i, err)
		}
		prefixes[i] = p
	}
	return func(r *TCPRequest) bool {
		ip := r.ClientIP.Unmap()
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}, nil
}

func buildALPN(args []string) (matchFunc[TCPRequest], error) {
	for i, a := range args {
		switch a {
		case "":
			return nil, argErr(i, errors.New("empty protocol"))
		case "acme-tls/1":
			return nil, argErr(i, errors.New("acme-tls/1 is reserved for TLS-ALPN-01 challenges, which Ferry answers itself"))
		}
	}
	protos := slices.Clone(args)
	return func(r *TCPRequest) bool {
		for _, p := range r.ALPN {
			if slices.Contains(protos, p) {
				return true
			}
		}
		return false
	}, nil
}
