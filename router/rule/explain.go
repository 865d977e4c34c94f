package rule

import (
	"fmt"
	"net/http"
	"strings"
)

// Trace is the evaluation of a rule, or of one of its sub-expressions,
// against a request: whether it matched and, for a matcher, what the
// request had in its place. Explain builds it; it is for people (ferry
// explain, the API), not for routing.
type Trace struct {
	// Expr is the sub-expression in canonical form, e.g. PathPrefix(`/admin`).
	Expr string `json:"expr"`
	// Matched tells whether the sub-expression matched the request.
	Matched bool `json:"matched"`
	// Saw is what a matcher compared: `path /api/x`, `host app.test`,
	// `no header X-Env`. Empty for &&, || and !.
	Saw string `json:"saw,omitempty"`
	// Op is "&&", "||" or "!" for an operation, empty for a matcher.
	Op string `json:"op,omitempty"`
	// Children are the operands of Op, in the rule's order.
	Children []Trace `json:"children,omitempty"`
}

// Explain evaluates the rule against req operand by operand, without the
// short cuts of Match, so that every failing sub-expression is known. Its
// verdict is the same as Match's.
func (r *Rule) Explain(req *Request) Trace {
	root, err := parse(r.p.text) // the canonical text of a compiled rule parses
	if err != nil {
		return Trace{Expr: r.p.text, Saw: err.Error()}
	}
	table, err := httpTable(r.p.syntax)
	if err != nil {
		return Trace{Expr: r.p.text, Saw: err.Error()}
	}
	if req != nil && req.HTTP != nil && req.HTTP.URL != nil {
		req = req.filled()
	}
	return explainNode(root, req, table)
}

func explainNode(n *node, req *Request, table *matcherTable[Request]) Trace {
	t := Trace{Expr: n.String()}
	switch n.kind {
	case kindMatcher:
		t.Saw = observed(n, req, table.syntax)
		if req == nil || req.HTTP == nil || req.HTTP.URL == nil {
			return t
		}
		m, _, err := buildMatcher(n, table)
		if err != nil { // not for a compiled rule's own text
			t.Saw = err.Error()
			return t
		}
		t.Matched = m(req)
		return t
	case kindNot:
		c := explainNode(n.children[0], req, table)
		t.Op, t.Children, t.Matched = "!", []Trace{c}, !c.Matched
		return t
	}
	t.Op, t.Matched = "||", n.kind == kindAnd
	if n.kind == kindAnd {
		t.Op = "&&"
	}
	for _, c := range n.children {
		ct := explainNode(c, req, table)
		t.Children = append(t.Children, ct)
		if n.kind == kindAnd {
			t.Matched = t.Matched && ct.Matched
		} else {
			t.Matched = t.Matched || ct.Matched
		}
	}
	return t
}

// Why says in one line why a sub-expression that did not match failed,
// naming the failing matchers and what the request had instead:
// "PathPrefix(`/admin`) did not match path /api/x". It is empty when the
// expression matched.
func (t Trace) Why() string {
	if t.Matched {
		return ""
	}
	return t.why()
}

func (t Trace) why() string {
	switch t.Op {
	case "":
		switch {
		case t.Saw == "":
			return t.Expr + " did not match"
		case strings.HasPrefix(t.Saw, "no "):
			return t.Expr + " did not match: the request has " + t.Saw
		}
		return t.Expr + " did not match " + t.Saw
	case "!":
		c := t.Children[0]
		return t.Expr + " failed: " + c.Expr + " matched " + c.saw()
	case "&&":
		var parts []string
		for _, c := range t.Children {
			if !c.Matched {
				parts = append(parts, c.why())
			}
		}
		return strings.Join(parts, "; ")
	default:
		parts := make([]string, len(t.Children))
		for i, c := range t.Children {
			parts[i] = c.why()
		}
		return "none of: " + strings.Join(parts, "; ")
	}
}

// saw describes what a matched sub-expression saw: its matchers' views.
func (t Trace) saw() string {
	if t.Children == nil {
		return t.Saw
	}
	var parts []string
	for _, c := range t.Children {
		if c.Matched == t.Matched {
			if s := c.saw(); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// observed describes the part of req that matcher n looks at.
func observed(n *node, req *Request, syntax Syntax) string {
	if req == nil || req.HTTP == nil || req.HTTP.URL == nil {
		return "no request"
	}
	h := req.HTTP
	switch n.name {
	case "Host", "HostHeader", "HostRegexp":
		return "host " + quoteIfEmpty(req.Host)
	case "Path", "PathPrefix", "PathRegexp":
		return "path " + quoteIfEmpty(req.Path)
	case "Method":
		return "method " + h.Method
	case "Header", "HeaderRegexp":
		if len(n.args) == 0 {
			return ""
		}
		return observedHeader(h, n.args[0])
	case "Headers", "HeadersRegexp": // v2: name, value pairs
		var parts []string
		for i := 0; i < len(n.args); i += 2 {
			parts = append(parts, observedHeader(h, n.args[i]))
		}
		return strings.Join(parts, "; ")
	case "Query", "QueryRegexp":
		if len(n.args) == 0 {
			return ""
		}
		if syntax != SyntaxV2 {
			return observedQuery(h, n.args[0])
		}
		var parts []string
		for _, a := range n.args { // every v2 argument is key=value
			key, _, _ := strings.Cut(a, "=")
			parts = append(parts, observedQuery(h, key))
		}
		return strings.Join(parts, "; ")
	case "ClientIP":
		if ip, ok := remoteIP(h.RemoteAddr); ok {
			return "client IP " + ip.String()
		}
		return "no client IP (give one to explain it)"
	}
	return ""
}

// observedHeader describes the values of header key of h.
func observedHeader(h *http.Request, key string) string {
	key = http.CanonicalHeaderKey(key)
	vals := h.Header[key]
	if key == "Host" {
		vals = []string{h.Host}
	}
	if len(vals) == 0 {
		return "no header " + key
	}
	return fmt.Sprintf("header %s: %s", key, strings.Join(quoteAll(vals), ", "))
}

// observedQuery describes the values of query parameter key of h.
func observedQuery(h *http.Request, key string) string {
	vals := h.URL.Query()[key]
	if len(vals) == 0 {
		return "no query parameter " + key
	}
	return fmt.Sprintf("query %s=%s", key, strings.Join(quoteAll(vals), ","))
}

func quoteIfEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
