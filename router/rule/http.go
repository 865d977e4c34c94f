package rule

import (
	"net/http"
	"slices"
)

// Request is what HTTP matchers see; the router builds one per request.
type Request struct {
	// HTTP is the incoming request; it must not be nil.
	HTTP *http.Request
	// Host is the lower-case request host without port or trailing dot, as
	// NormalizeHost returns it. When empty, Match derives it from HTTP.Host.
	Host string
	// Path is the routing path, as RoutingPath returns it: the path as
	// sent, which path matchers compare. When empty, Match derives it from
	// HTTP.URL.
	Path string
}

// filled returns req with Host and Path derived from HTTP when they are
// empty; req itself when nothing is missing.
func (req *Request) filled() *Request {
	u := req.HTTP.URL
	needHost := req.Host == "" && req.HTTP.Host != ""
	needPath := req.Path == "" && (u.Path != "" || u.RawPath != "")
	if !needHost && !needPath {
		return req
	}
	f := *req
	if needHost {
		f.Host = NormalizeHost(req.HTTP.Host)
	}
	if needPath {
		f.Path = RoutingPath(u)
	}
	return &f
}

// Rule is a compiled HTTP rule. It is immutable and safe for concurrent use.
type Rule struct {
	p *program[Request]
}

// Compile parses and compiles an HTTP rule in rule syntax v3 (see
// CompileSyntax for v2). Errors are *ParseError values that carry the byte
// offset of the problem.
func Compile(expr string) (*Rule, error) { return CompileSyntax(expr, SyntaxV3) }

// Match reports whether the request matches the rule.
func (r *Rule) Match(req *Request) bool {
	if req == nil || req.HTTP == nil || req.HTTP.URL == nil {
		return false
	}
	return r.p.match(req.filled())
}

// Syntax returns the rule syntax the rule was compiled with.
func (r *Rule) Syntax() Syntax { return r.p.syntax }

// Hosts returns the lower-case hosts, sorted, one of which a request must
// have for the rule to match: Host(a) && Path(x) gives [a],
// (Host(a) || Host(b)) && Method(GET) gives [a b]. An entry may be a
// wildcard, "*.example.com" for Host(`*.example.com`), standing for every
// host with exactly one more label (see MatchHost); the exact names a
// wildcard of the set covers are left out. It returns nil when the rule
// can match other hosts (Path(x), Host(a) || Path(x), !Host(a), Host(`*`),
// HostRegexp(...)), and an empty, non-nil slice when no host can match
// (Host(a) && Host(b)). Routers use it to index rules by host (wildcards
// under ParentDomain); Match checks the host in any case. The caller may
// modify the returned slice.
func (r *Rule) Hosts() []string {
	if r.p.hosts == nil {
		return nil
	}
	return append(make([]string, 0, len(r.p.hosts)), r.p.hosts...)
}

// Domains returns the hosts named by Host matchers anywhere in the rule,
// except under a negation, sorted and lower-case, wildcards such as
// "*.example.com" included (Host(`*`) names none); nil when there are
// none. These are the names to obtain certificates for.
func (r *Rule) Domains() []string {
	return slices.Clone(r.p.domains)
}

// String returns the canonical form of the rule: it parses back to the same
// expression. Redundant parentheses are dropped, arguments are quoted with
// backticks (or as Go strings when they contain one) and operators are
// surrounded by single spaces.
func (r *Rule) String() string { return r.p.text }
