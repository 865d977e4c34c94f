package labels

import "github.com/ferryproxy/ferry/router/rule"

// checkRule compiles a labelled router's rule (tcp: a TCP router's) early,
// so that its error names the label. With a ruleSyntax label it is
// compiled in that syntax; without one the default syntax is the static
// configuration's, which labels do not know, so a rule valid in either
// syntax passes and the router decides.
func checkRule(text, syntax string, tcp bool) error {
	s, err := rule.ParseSyntax(syntax)
	if err != nil || s == "" {
		return rule.CheckAnySyntax(text, tcp) // a bad ruleSyntax is the router's problem, on its own field
	}
	if tcp {
		_, err = rule.CompileTCPSyntax(text, s)
	} else {
		_, err = rule.CompileSyntax(text, s)
	}
	return err
}
