package labels

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// ParseDefaultRuleOption compiles a provider's defaultRule option: unset
// (nil) is DefaultRule; set but empty is a template that gives no rule, so
// that, as in Traefik, workloads get no implicit router.
func ParseDefaultRuleOption(text *string) (*template.Template, error) {
	if text == nil {
		return ParseDefaultRule("")
	}
	if strings.TrimSpace(*text) == "" {
		return template.New("defaultRule").Parse("")
	}
	return ParseDefaultRule(*text)
}

// noDefaultRule handles a router whose default rule came out empty (the
// provider's defaultRule is "", or a template that gives nothing for this
// workload): the implicit router is dropped, as in Traefik; a labelled
// router without a rule is kept with a problem naming the label to set. It
// reports whether the router was dropped.
func (b *builder) noDefaultRule(name string, implicit bool) bool {
	if implicit {
		delete(b.cfg.HTTP.Routers, name)
		return true
	}
	b.add(config.Problem{Kind: config.KindRouter, Name: name, Field: "rule",
		Message: fmt.Sprintf("no rule, and the default rule gives none for this workload; set label %s.http.routers.%s.rule", b.o.Prefix, name)})
	return false
}

// lowestPort picks the lowest of several exposed ports for a service
// without a port label, as Traefik does, and warns (a source problem that
// disables nothing) so that the choice is seen.
func (b *builder) lowestPort(s *server) string {
	lowest, low := "", 0
	for _, p := range b.w.Ports {
		if n, err := strconv.Atoi(p); err == nil && (lowest == "" || n < low) {
			lowest, low = p, n
		}
	}
	if lowest == "" {
		lowest = b.w.Ports[0]
	}
	label := b.o.Prefix + "." + decode.JoinPath(append(slices.Clip(s.path), "port"))
	b.source(decode.JoinPath(s.path[:3]), fmt.Sprintf("the workload exposes %d ports (%s) and has no port label: using the lowest, %s (set label %s to choose)",
		len(b.w.Ports), strings.Join(b.w.Ports, ", "), lowest, label))
	return lowest
}
