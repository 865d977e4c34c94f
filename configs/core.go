package configs

import (
	"fmt"

	"github.com/ferryproxy/ferry/router/rule"
)

// CoreConfig holds Traefik's core options.
type CoreConfig struct {
	// DefaultRuleSyntax is the rule syntax of the routers that set no
	// ruleSyntax: v3 (the default, Traefik v3's) or v2 (Traefik v2's:
	// Host(`a`, `b`), Headers, Query(`k=v`), {name:re} templates), so that a
	// v2 configuration is served unchanged and moves to v3 router by router.
	DefaultRuleSyntax string `json:"defaultRuleSyntax"`
}

// checkCore checks core.defaultRuleSyntax.
func (s *Static) checkCore(name string) []string {
	if s.Core == nil {
		return nil
	}
	if _, err := rule.ParseSyntax(s.Core.DefaultRuleSyntax); err != nil {
		return []string{fmt.Sprintf("%s: core.defaultRuleSyntax: %v", name, err)}
	}
	return nil
}

// DefaultRuleSyntax returns core.defaultRuleSyntax ("v2" or "v3"), or ""
// when unset (v3).
func (s *Static) DefaultRuleSyntax() string {
	if s == nil || s.Core == nil {
		return ""
	}
	syn, _ := rule.ParseSyntax(s.Core.DefaultRuleSyntax) // checkCore refused anything else
	return string(syn)
}
