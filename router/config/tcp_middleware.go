package config

import (
	"fmt"
	"sort"
)

// KindTCPMiddleware is the kind of TCP middlewares, named apart from HTTP ones.
const KindTCPMiddleware Kind = "tcpMiddleware"

// TCPMiddleware acts on a TCP connection before it reaches the router's
// service. Exactly one type is set.
type TCPMiddleware struct {
	// IPAllowList closes connections from clients outside the given ranges.
	IPAllowList *TCPIPAllowList `json:"ipAllowList,omitempty"`
	// InFlightConn limits the connections open at once per client IP.
	InFlightConn *TCPInFlightConn `json:"inFlightConn,omitempty"`
}

// TCPIPAllowList admits only connections whose client IP is in SourceRange;
// others are closed at once. The client IP is the connection's (the PROXY
// protocol's when the entry point trusts it).
type TCPIPAllowList struct {
	// SourceRange lists the allowed IPs and CIDRs.
	SourceRange []string `json:"sourceRange,omitempty"`
}

// TCPInFlightConn limits simultaneous connections per client IP; a
// connection beyond the limit is closed at once.
type TCPInFlightConn struct {
	// Amount is the most connections one client IP may have open (required, > 0).
	Amount int64 `json:"amount,omitempty"`
}

// typeCount counts the types set on m.
func (m *TCPMiddleware) typeCount() int {
	n := 0
	if m.IPAllowList != nil {
		n++
	}
	if m.InFlightConn != nil {
		n++
	}
	return n
}

// validateTCPMiddlewares checks every TCP middleware, and the middlewares
// TCP routers name.
func validateTCPMiddlewares(c *Config) []Problem {
	var ps []Problem
	bad := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for name, m := range c.TCP.Middlewares {
		if m == nil {
			continue
		}
		if n := m.typeCount(); n != 1 {
			bad(KindTCPMiddleware, name, "", "want exactly one of ipAllowList or inFlightConn, found %d", n)
			continue
		}
		if a := m.IPAllowList; a != nil {
			if len(a.SourceRange) == 0 {
				bad(KindTCPMiddleware, name, "ipAllowList.sourceRange", "empty: list the IPs and CIDRs allowed")
			}
			validateRanges(a.SourceRange, "ipAllowList.sourceRange", func(field, format string, args ...any) {
				bad(KindTCPMiddleware, name, field, format, args...)
			})
		}
		if f := m.InFlightConn; f != nil && f.Amount <= 0 {
			bad(KindTCPMiddleware, name, "inFlightConn.amount", "must be a positive number of connections, got %d", f.Amount)
		}
	}
	for name, r := range c.TCP.Routers {
		if r == nil {
			continue
		}
		for i, m := range r.Middlewares {
			if _, ok := c.TCP.Middlewares[m]; !ok {
				bad(KindTCPRouter, name, fmt.Sprintf("middlewares[%d]", i), "TCP middleware %q does not exist", m)
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

// qualifiedTCPMiddlewares returns the TCP middlewares with qualified names.
func qualifiedTCPMiddlewares(in map[string]*TCPMiddleware, q func(string) string) map[string]*TCPMiddleware {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]*TCPMiddleware, len(in))
	for name, m := range in {
		if m != nil {
			out[q(name)] = m
		}
	}
	return out
}

// qualifiedNames returns names qualified by q; nil for nil.
func qualifiedNames(names []string, q func(string) string) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = q(n)
	}
	return out
}
