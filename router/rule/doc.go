// Package rule implements the rule language that routers use to select
// requests, in Traefik's two syntaxes: v3 (the default) and v2, chosen per
// router (ruleSyntax) or globally (core.defaultRuleSyntax). A rule is
// parsed once and compiled into a tree of matchers; matching a request
// then allocates nothing on the common paths and never compiles a regular
// expression.
//
// # Grammar
//
// Both syntaxes share the grammar; they differ in their matchers.
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
// backtick strings are taken verbatim. Matcher names match in any case
// (PathPrefix, pathprefix, PATHPREFIX) and print canonically.
//
// # HTTP matchers, v3
//
// One value per matcher (use || for several):
//
//	Host(h)               request host is h; case-insensitive, port and
//	                      trailing dot ignored. Host(`*.example.com`) matches
//	                      hosts with exactly one more label; Host(`*`) any.
//	HostRegexp(re)        host (lower-case, no port) matches re.
//	Path(p)               routing path equals p.
//	PathPrefix(p)         routing path starts with p.
//	PathRegexp(re)        routing path matches re.
//	Method(m)             method is m (m upper-cased; compared exactly).
//	Header(k, v)          header k has value v.
//	HeaderRegexp(k, re)   a value of header k matches re.
//	Query(k, v)           query parameter k has value v.
//	Query(k)              query parameter k is given without a value.
//	QueryRegexp(k, re)    a value of query parameter k matches re.
//	ClientIP(ip-or-cidr)  the connection's remote address is in the range.
//
// # HTTP matchers, v2
//
// Several values per matcher, any of which matches, except where noted:
//
//	Host(h...), HostHeader(h...)  host is one of h; no wildcards.
//	HostRegexp(tpl...)            host matches a template: literal text and
//	                              {name} (one label) or {name:re} variables,
//	                              anchored at both ends.
//	Path(tpl...), PathPrefix(tpl...)
//	                              routing path matches a template ({name} is
//	                              one segment), whole or as a prefix.
//	Method(m...), ClientIP(ip-or-cidr...)
//	Headers(k, v, ...)            every header k has value v ("" any value).
//	HeadersRegexp(k, re, ...)     a value of every header k matches re.
//	Query(`k=v`, ...)             every parameter k has a value matching v, a
//	                              literal or a template; `k=` any value.
//
// # TCP matchers
//
// CompileTCPSyntax compiles rules over TCPRequest: HostSNI(name), where
// HostSNI(`*`) matches every connection, with or without TLS;
// HostSNIRegexp(re); ALPN(proto); ClientIP(ip-or-cidr). In v2 each takes
// several values, and HostSNIRegexp takes templates.
//
// # Paths
//
// Path matchers compare the routing path (RoutingPath): the path as the
// client sent it, with the encodings of ordinary characters decoded, so
// that an encoded '/' (%2F) or '#' (%23) is never taken for a separator.
// Path and PathPrefix arguments are read the same way.
//
// Regular expressions use Go syntax and are not anchored, as in Traefik:
// write ^ and $ where the whole value must match. Header(`Host`, v) looks
// at the request's Host field, since Go removes Host from the header map.
// Host arguments must be ASCII host names or IP literals without port.
//
// Matchers have no side effects, so the compiled form may evaluate the
// operands of && and || in any order; cheap matchers run first.
package rule
