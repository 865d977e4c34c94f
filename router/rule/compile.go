package rule

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// matchFunc is a compiled matcher over a request type R.
type matchFunc[R any] func(*R) bool

// matcherSpec describes one matcher of a matcher table.
type matcherSpec[R any] struct {
	minArgs, maxArgs int // maxArgs < 0 means no upper bound
	// pairs requires an even number of arguments (v2 Headers).
	pairs bool
	// cost ranks matchers by evaluation price; && and || try cheap ones first.
	cost int
	// build compiles the arguments; it reports a bad argument with argErr.
	build func(args []string) (matchFunc[R], error)
	// hosts, when set, returns the lower-case hosts the matcher requires,
	// exact names or wildcards such as *.example.com (build has validated
	// the arguments already), or nil when the matcher accepts any host.
	// They feed the host index (Hosts).
	hosts func(args []string) []string
	// domains, when set, returns the names to obtain certificates for
	// (Domains): the hosts of Host matchers, wildcards included.
	domains func(args []string) []string
	// anyOf, when set, builds one matcher for an || of several of these
	// matchers, from their arguments; it returns nil when it cannot (see
	// mergeOr).
	anyOf func(args []string) matchFunc[R]
}

// Evaluation costs, in rough order of price.
const (
	costCheap  = 1 // string comparison
	costMedium = 2 // map lookup, header scan
	costScan   = 4 // query string scan, address parse
	costRegexp = 8
)

// matcherTable is the set of matchers a rule of one syntax may use, by
// canonical name. Tables are package-level values that are never modified.
type matcherTable[R any] struct {
	syntax Syntax
	specs  map[string]matcherSpec[R]
}

// lookup finds a matcher by name in any case, as Traefik reads PathPrefix,
// pathprefix and PATHPREFIX alike, and returns its canonical name.
func (t *matcherTable[R]) lookup(name string) (string, matcherSpec[R], bool) {
	if spec, ok := t.specs[name]; ok {
		return name, spec, true
	}
	for canon, spec := range t.specs { // names differ in more than case
		if strings.EqualFold(canon, name) {
			return canon, spec, true
		}
	}
	return "", matcherSpec[R]{}, false
}

// argError is a problem with one argument of a matcher.
type argError struct {
	index int
	err   error
}

func (e *argError) Error() string { return e.err.Error() }

func (e *argError) Unwrap() error { return e.err }

// argErr reports that argument i (0-based) is invalid.
func argErr(i int, err error) error { return &argError{index: i, err: err} }

// program is a compiled rule over request type R.
type program[R any] struct {
	match   matchFunc[R]
	hosts   []string // nil when the rule can match any host
	domains []string
	text    string
	syntax  Syntax
}

// compileRule parses expr and compiles it with the matchers of table.
func compileRule[R any](expr string, table *matcherTable[R]) (*program[R], error) {
	root, err := parse(expr)
	if err != nil {
		return nil, err
	}
	m, _, err := build(root, table) // also gives matchers their canonical names
	if err != nil {
		return nil, err
	}
	hosts, ok := requiredHosts(root, table)
	if !ok {
		hosts = nil
	}
	return &program[R]{
		match:   m,
		hosts:   hosts,
		domains: mentionedHosts(root, table),
		text:    root.String(),
		syntax:  table.syntax,
	}, nil
}

// build compiles n and returns its matcher and its cost.
func build[R any](n *node, table *matcherTable[R]) (matchFunc[R], int, error) {
	switch n.kind {
	case kindMatcher:
		return buildMatcher(n, table)
	case kindNot:
		m, cost, err := build(n.children[0], table)
		if err != nil {
			return nil, 0, err
		}
		return func(r *R) bool { return !m(r) }, cost, nil
	}
	ops := make([]operand[R], len(n.children))
	total := 0
	for i, c := range n.children {
		m, cost, err := build(c, table)
		if err != nil {
			return nil, 0, err
		}
		ops[i] = operand[R]{m, cost}
		total += cost
	}
	if n.kind == kindOr {
		ops = mergeOr(n.children, ops, table)
	}
	if len(ops) == 1 {
		return ops[0].m, total, nil
	}
	slices.SortStableFunc(ops, func(a, b operand[R]) int { return a.cost - b.cost })
	ms := make([]matchFunc[R], len(ops))
	for i, o := range ops {
		ms[i] = o.m
	}
	if n.kind == kindAnd {
		return allOf(ms), total, nil
	}
	return anyOf(ms), total, nil
}

// operand is a compiled operand of && or || with its cost.
type operand[R any] struct {
	m    matchFunc[R]
	cost int
}

// mergeOr replaces the operands of an || that are one matcher with one
// argument each, such as ClientIP(`a`) || ClientIP(`b`) (rule syntax v3's
// way to give several values), with one matcher over all their arguments
// when the table can build it (spec.anyOf): the request is read once, not
// once per operand. children and ops are in the same order; each operand
// has been built, so every argument is valid.
func mergeOr[R any](children []*node, ops []operand[R], table *matcherTable[R]) []operand[R] {
	groups := make(map[string][]int)
	for i, c := range children {
		if c.kind == kindMatcher && len(c.args) == 1 && table.specs[c.name].anyOf != nil {
			groups[c.name] = append(groups[c.name], i)
		}
	}
	drop := make([]bool, len(ops))
	var merged []operand[R]
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		idx := groups[name]
		if len(idx) < 2 {
			continue
		}
		args := make([]string, len(idx))
		for j, i := range idx {
			args[j] = children[i].args[0]
		}
		spec := table.specs[name]
		m := spec.anyOf(args)
		if m == nil {
			continue
		}
		for _, i := range idx {
			drop[i] = true
		}
		merged = append(merged, operand[R]{m, spec.cost})
	}
	if merged == nil {
		return ops
	}
	out := merged
	for i, o := range ops {
		if !drop[i] {
			out = append(out, o)
		}
	}
	return out
}

// merging adapts a builder of several arguments (any of which matches) to
// matcherSpec.anyOf.
func merging[R any](build func(args []string) (matchFunc[R], error)) func(args []string) matchFunc[R] {
	return func(args []string) matchFunc[R] {
		m, err := build(args)
		if err != nil {
			return nil
		}
		return m
	}
}

func allOf[R any](ms []matchFunc[R]) matchFunc[R] {
	if len(ms) == 2 {
		a, b := ms[0], ms[1]
		return func(r *R) bool { return a(r) && b(r) }
	}
	return func(r *R) bool {
		for _, m := range ms {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

func anyOf[R any](ms []matchFunc[R]) matchFunc[R] {
	if len(ms) == 2 {
		a, b := ms[0], ms[1]
		return func(r *R) bool { return a(r) || b(r) }
	}
	return func(r *R) bool {
		for _, m := range ms {
			if m(r) {
				return true
			}
		}
		return false
	}
}

// buildMatcher compiles one matcher, renaming n to the matcher's canonical
// name (so that the rule prints as PathPrefix whatever case it was written in).
func buildMatcher[R any](n *node, table *matcherTable[R]) (matchFunc[R], int, error) {
	canon, spec, ok := table.lookup(n.name)
	if !ok {
		msg := fmt.Sprintf("unknown matcher %q in rule syntax %s", n.name, table.syntax)
		if s := suggest(n.name, table); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		return nil, 0, &ParseError{Pos: n.pos, Msg: msg}
	}
	n.name = canon
	got := len(n.args)
	if got < spec.minArgs || spec.maxArgs >= 0 && got > spec.maxArgs {
		msg := fmt.Sprintf("%s: expected %s, got %d", n.name, arity(spec.minArgs, spec.maxArgs), got)
		if spec.maxArgs == 1 && got > 1 {
			msg += fmt.Sprintf(" (rule syntax %s: combine several with ||, as in %s(`a`) || %s(`b`))", table.syntax, n.name, n.name)
		}
		return nil, 0, errorAt(n.pos, "%s", msg)
	}
	if spec.pairs && got%2 != 0 {
		return nil, 0, errorAt(n.pos, "%s: expected pairs of name and value, got %d arguments", n.name, got)
	}
	m, err := spec.build(n.args)
	if err != nil {
		var ae *argError
		if errors.As(err, &ae) && ae.index < len(n.args) {
			return nil, 0, &ParseError{
				Pos: n.argPos[ae.index],
				Msg: fmt.Sprintf("%s: argument %d %q: %v", n.name, ae.index+1, n.args[ae.index], ae.err),
				Err: ae.err,
			}
		}
		return nil, 0, &ParseError{Pos: n.pos, Msg: n.name + ": " + err.Error(), Err: err}
	}
	return m, spec.cost, nil
}

// arity describes an argument count range: "1 argument", "1 or 2
// arguments", "at least 1 argument".
func arity(lo, hi int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case hi < 0:
		return "at least " + plural(lo)
	case lo == hi:
		return plural(lo)
	case hi == lo+1:
		return fmt.Sprintf("%d or %s", lo, plural(hi))
	default:
		return fmt.Sprintf("%d to %s", lo, plural(hi))
	}
}

// requiredHosts returns the set of hosts (exact names and wildcards) one
// of which a request must have for n to match; ok is false when n can
// match a request with any host. It runs after build, which has
// canonicalised the matcher names.
func requiredHosts[R any](n *node, table *matcherTable[R]) (hosts []string, ok bool) {
	switch n.kind {
	case kindMatcher:
		spec := table.specs[n.name]
		if spec.hosts == nil {
			return nil, false
		}
		hs := spec.hosts(n.args)
		if hs == nil { // a wildcard such as Host(`*`) or HostSNI(`*`)
			return nil, false
		}
		return normalizeSet(hs), true
	case kindAnd:
		for _, c := range n.children {
			hs, cok := requiredHosts(c, table)
			switch {
			case !cok:
			case !ok:
				hosts, ok = hs, true
			default:
				hosts = intersectHosts(hosts, hs)
			}
		}
		return hosts, ok
	case kindOr:
		for _, c := range n.children {
			hs, cok := requiredHosts(c, table)
			if !cok {
				return nil, false
			}
			hosts = append(hosts, hs...)
		}
		return normalizeSet(hosts), true
	default:
		return nil, false
	}
}

// mentionedHosts returns the names of host matchers that are not under a
// negation, wherever they appear in the rule, or nil when there are none.
func mentionedHosts[R any](root *node, table *matcherTable[R]) []string {
	var acc []string
	var walk func(n *node, negated bool)
	walk = func(n *node, negated bool) {
		switch n.kind {
		case kindMatcher:
			if spec := table.specs[n.name]; spec.domains != nil && !negated {
				acc = append(acc, spec.domains(n.args)...)
			}
		case kindNot:
			walk(n.children[0], !negated)
		default:
			for _, c := range n.children {
				walk(c, negated)
			}
		}
	}
	walk(root, false)
	if len(acc) == 0 {
		return nil
	}
	slices.Sort(acc)
	return slices.Compact(acc)
}

// suggest returns the matcher name closest to name, or "" when none is
// close enough to be a likely typo.
func suggest[R any](name string, table *matcherTable[R]) string {
	names := make([]string, 0, len(table.specs))
	for k := range table.specs {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, k := range names {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
