package rule

import (
	"errors"
	"fmt"
	"strings"
)

// Syntax names a version of the rule language, as Traefik's ruleSyntax
// option does: SyntaxV3 (the default) or SyntaxV2, which lets a Traefik v2
// deployment move over router by router.
type Syntax string

// The rule syntaxes.
const (
	// SyntaxV3 is Traefik v3's rule language: one value per matcher (two for
	// Header, HeaderRegexp, Query, QueryRegexp), Go regular expressions in
	// the *Regexp matchers, Host(`*.example.com`).
	SyntaxV3 Syntax = "v3"
	// SyntaxV2 is Traefik v2's: several values per matcher (any of them),
	// Headers, HeadersRegexp, HostHeader, Query(`k=v`), and {name:re}
	// templates in HostRegexp, Path and PathPrefix.
	SyntaxV2 Syntax = "v2"
)

// ParseSyntax reads a ruleSyntax value: "v2" or "v3" in any case, or ""
// (which means the default, and is returned as ""). Anything else is an
// error naming the value.
func ParseSyntax(s string) (Syntax, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "v3":
		return SyntaxV3, nil
	case "v2":
		return SyntaxV2, nil
	}
	return "", fmt.Errorf("unknown rule syntax %q: want v2 or v3", s)
}

// ResolveSyntax is the syntax a router's rule is parsed with: the router's
// own ruleSyntax when set, else def (core.defaultRuleSyntax), else
// SyntaxV3. An unknown value of either is an error.
func ResolveSyntax(router, def string) (Syntax, error) {
	s, err := ParseSyntax(router)
	if err != nil || s != "" {
		return s, err
	}
	if s, err = ParseSyntax(def); err != nil {
		return "", fmt.Errorf("default %w", err)
	}
	if s == "" {
		return SyntaxV3, nil
	}
	return s, nil
}

// other is the syntax that is not s.
func (s Syntax) other() Syntax {
	if s == SyntaxV2 {
		return SyntaxV3
	}
	return SyntaxV2
}

// errSyntax is returned for a Syntax value that is neither v2 nor v3.
var errSyntax = errors.New("rule: unknown rule syntax")

// httpTable returns the HTTP matcher table of a syntax; "" is v3.
func httpTable(s Syntax) (*matcherTable[Request], error) {
	switch s {
	case SyntaxV3, "":
		return httpV3, nil
	case SyntaxV2:
		return httpV2, nil
	}
	return nil, fmt.Errorf("%w %q: want v2 or v3", errSyntax, string(s))
}

// tcpTable returns the TCP matcher table of a syntax; "" is v3.
func tcpTable(s Syntax) (*matcherTable[TCPRequest], error) {
	switch s {
	case SyntaxV3, "":
		return tcpV3, nil
	case SyntaxV2:
		return tcpV2, nil
	}
	return nil, fmt.Errorf("%w %q: want v2 or v3", errSyntax, string(s))
}

// CompileSyntax parses and compiles an HTTP rule in the given syntax (""
// is v3). When the rule does not compile but would in the other syntax,
// the error says so, so that a v2 rule left without ruleSyntax: v2 (or the
// reverse) is easy to fix.
func CompileSyntax(expr string, syntax Syntax) (*Rule, error) {
	t, err := httpTable(syntax)
	if err != nil {
		return nil, err
	}
	p, err := compileRule(expr, t)
	if err != nil {
		other, _ := httpTable(t.syntax.other())
		return nil, hintOther(err, func() error { _, e := compileRule(expr, other); return e }, other.syntax)
	}
	return &Rule{p: p}, nil
}

// CompileTCPSyntax parses and compiles a TCP rule in the given syntax (""
// is v3), with the same hint as CompileSyntax.
func CompileTCPSyntax(expr string, syntax Syntax) (*TCPRule, error) {
	t, err := tcpTable(syntax)
	if err != nil {
		return nil, err
	}
	p, err := compileRule(expr, t)
	if err != nil {
		other, _ := tcpTable(t.syntax.other())
		return nil, hintOther(err, func() error { _, e := compileRule(expr, other); return e }, other.syntax)
	}
	return &TCPRule{p: p}, nil
}

// hintOther adds to a compile error that the rule is valid in the other
// syntax, when tryOther says it is.
func hintOther(err error, tryOther func() error, other Syntax) error {
	var pe *ParseError
	if !errors.As(err, &pe) || tryOther() != nil {
		return err
	}
	hinted := *pe
	hinted.Msg += fmt.Sprintf("; the rule is valid in rule syntax %s: set the router's ruleSyntax to %s", other, other)
	return &hinted
}

// CheckAnySyntax reports whether expr compiles as an HTTP rule (tcp false)
// or a TCP rule in at least one syntax; the error is the v3 one. It is for
// early checks that do not know the default syntax (labels, tags): they
// leave the definitive verdict to the router.
func CheckAnySyntax(expr string, tcp bool) error {
	var err3, err2 error
	if tcp {
		_, err3 = CompileTCPSyntax(expr, SyntaxV3)
		if err3 != nil {
			_, err2 = CompileTCPSyntax(expr, SyntaxV2)
		}
	} else {
		_, err3 = CompileSyntax(expr, SyntaxV3)
		if err3 != nil {
			_, err2 = CompileSyntax(expr, SyntaxV2)
		}
	}
	if err3 == nil || err2 == nil {
		return nil
	}
	return err3
}

// DomainsAnySyntax returns the Domains of an HTTP rule (tcp false) or a
// TCP rule read in syntax v3, else in v2, for callers that do not know the
// router's syntax (certificate requests). Where a rule compiles in both
// syntaxes its domains are the same. The error is the v3 one.
func DomainsAnySyntax(expr string, tcp bool) ([]string, error) {
	if tcp {
		r, err := CompileTCPSyntax(expr, SyntaxV3)
		if err != nil {
			r2, err2 := CompileTCPSyntax(expr, SyntaxV2)
			if err2 != nil {
				return nil, err
			}
			r = r2
		}
		return r.Domains(), nil
	}
	r, err := CompileSyntax(expr, SyntaxV3)
	if err != nil {
		r2, err2 := CompileSyntax(expr, SyntaxV2)
		if err2 != nil {
			return nil, err
		}
		r = r2
	}
	return r.Domains(), nil
}
