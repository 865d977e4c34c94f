// Package rule implements the rule language that routers use to select
// requests, in Traefik v3 syntax. A rule is parsed once and compiled into a
// tree of matchers; matching a request then allocates nothing on the common
// paths and never compiles a regular expression.
//
// # Grammar
//
//	rule    = or
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | "(" or ")" | matcher
//	matcher = Name "(" [ string { "," string } ] ")"
//	string  = "`" raw text "`" | Go double-quoted string
//
// "!" binds tightest, then "&&", then "||". Whitespace may appear anywhere
// between tokens. Double-quoted strings accept Go escapes (strconv.Unquote);
// backtick strings are taken verbatim.
//
// # HTTP matchers
//
//	Host(h...)              request host is one of h; case-insensitive, port and
//	                        trailing dot ignored. Alias: HostHeader.
//	HostRegexp(re...)       host (lower-case, no port) matches one of re.
//	Path(p...)              URL path equals one of p.
//	PathPrefix(p...)        URL path starts with one of p.
//	PathRegexp(re)          URL path matches re.
//	Method(m...)            method is one of m, case-insensitive.
//	Header(k, v)            header k has value v. Alias: Headers.
//	HeaderRegexp(k, re)     a value of header k matches re. Alias: HeadersRegexp.
//	Query(k, v)             query parameter k has value v.
//	Query(k)                query parameter k is present (any value).
//	Query(`k=v`)            the Traefik v2 form of Query(k, v).
//	QueryRegexp(k, re)      a value of query parameter k matches re.
//	ClientIP(ip-or-cidr...) the connection's remote address is in one of the ranges.
//
// # TCP matchers
//
// CompileTCP compiles rules over TCPRequest, with the same grammar:
//
//	HostSNI(name...)        the TLS server name is one of name; HostSNI(`*`) matches
//	                        every connection, with or without TLS.
//	HostSNIRegexp(re...)    the server name matches one of re.
//	ALPN(proto...)          the client offered one of the protocols.
//	ClientIP(ip-or-cidr...) the client address is in one of the ranges.
//
// Regular expressions use Go syntax and are not anchored, as in Traefik:
// write ^ and $ where the whole value must match. Matcher names are
// case-sensitive. Header(`Host`, v) and HeaderRegexp(`Host`, re) look at the
// request's Host field, since Go removes Host from the header map.
//
// Traefik v2 template variables ("{id:[0-9]+}" in Path, PathPrefix and
// HostRegexp) are rejected with an error rather than matched literally.
// Host arguments must be ASCII host names or IP literals without port.
//
// Matchers have no side effects, so the compiled form may evaluate the
// operands of && and || in any order; cheap matchers run first.
package rule
