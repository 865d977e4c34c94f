package router

import (
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/rule"
)

// Rule syntaxes. A router's rule is compiled in its ruleSyntax, else
// BuildOptions.DefaultRuleSyntax (core.defaultRuleSyntax), else v3. The
// table caches compiled rules by syntax and text: the same text may mean
// different things in v2 and v3 (HostRegexp(`a.com`) is a regexp in one,
// a host in the other).

// ruleKey is the key of a compiled rule in Table.rules and tcpTable.rules:
// the text for v3, the syntax and the text for v2.
func ruleKey(syntax rule.Syntax, text string) string {
	if syntax == rule.SyntaxV3 {
		return text
	}
	return string(syntax) + "\x00" + text
}

// ruleSyntax resolves the syntax of router name of kind k. An unknown
// value (of the router, or of the default) is a problem of the router's
// ruleSyntax field, which disables it.
func (b *builder) ruleSyntax(k config.Kind, name, syntax string) (rule.Syntax, bool) {
	s, err := rule.ResolveSyntax(syntax, b.opts.DefaultRuleSyntax)
	if err != nil {
		b.problem(config.Problem{Kind: k, Name: name, Field: "ruleSyntax", Message: err.Error()})
		return "", false
	}
	return s, true
}

// routerRule returns the compiled rule of an HTTP router of the table, nil
// when it has none (no rule, or one that does not compile).
func (t *Table) routerRule(name string) *rule.Rule {
	if info := t.routers[name]; info != nil {
		return info.rule
	}
	return nil
}

// compileRouterRule compiles an HTTP router's rule in its syntax, for
// explaining a router that the table does not serve.
func (t *Table) compileRouterRule(def *config.Router) (*rule.Rule, error) {
	s, err := rule.ResolveSyntax(def.RuleSyntax, t.ruleSyntax)
	if err != nil {
		return nil, err
	}
	return rule.CompileSyntax(def.Rule, s)
}
