package rule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// matchFunc is a compiled matcher over a request type R.
type matchFunc[R any] func(*R) bool

// matcherSpec describes one matcher of a matcher table.
type matcherSpec[R any] struct {
	minArgs, maxArgs int // maxArgs < 0 means no upper bound
	// cost ranks matchers by evaluation price; && and || try cheap ones first.
	cost int
	// build compiles the arguments; it reports a bad argument with argErr.
	build func(args []string) (matchFunc[R], error)
	// hosts, when set, returns the exact lower-case hosts the matcher
	// requires (it has validated the arguments in build already), or nil
	// when the matcher accepts any host.
	hosts func(args []string) []string
}

// Evaluation costs, in rough order of price.
const (
	costCheap  = 1 // string comparison
	costMedium = 2 // map lookup, header scan
	costScan   = 4 // query string scan, address parse
	costRegexp = 8
)

// matcherTable is a set of matchers a rule may use, by name. Tables are
// package-level values that are never modified.
type matcherTable[R any] map[string]matcherSpec[R]

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
}

// compileRule parses expr and compiles it with the matchers of table.
func compileRule[R any](expr string, table matcherTable[R]) (*program[R], error) {
	root, err := parse(expr)
	if err != nil {
		return nil, err
	}
	m, _, err := build(root, table)
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
	}, nil
}

// build compiles n and returns its matcher and its cost.
func build[R any](n *node, table matcherTable[R]) (matchFunc[R], int, error) {
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
	type operand struct {
		m    matchFunc[R]
		cost int
	}
	ops := make([]operand, len(n.children))
	total := 0
	for i, c := range n.children {
		m, cost, err := build(c, table)
		if err != nil {
			return nil, 0, err
		}
		ops[i] = operand{m, cost}
		total += cost
	}
	slices.SortStableFunc(ops, func(a, b operand) int { return a.cost - b.cost })
	ms := make([]matchFunc[R], len(ops))
	for i, o := range ops {
		ms[i] = o.m
	}
	if n.kind == kindAnd {
		return allOf(ms), total, nil
	}
	return anyOf(ms), total, nil
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

func buildMatcher[R any](n *node, table matcherTable[R]) (matchFunc[R], int, error) {
	spec, ok := table[n.name]
	if !ok {
		msg := fmt.Sprintf("unknown matcher %q", n.name)
		if s := suggest(n.name, table); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		return nil, 0, &ParseError{Pos: n.pos, Msg: msg}
	}
	if got := len(n.args); got < spec.minArgs || spec.maxArgs >= 0 && got > spec.maxArgs {
		return nil, 0, errorAt(n.pos, "%s: expected %s, got %d", n.name, arity(spec.minArgs, spec.maxArgs), got)
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

// requiredHosts returns the set of hosts one of which a request must have
// for n to match; ok is false when n can match a request with any host.
func requiredHosts[R any](n *node, table matcherTable[R]) (hosts []string, ok bool) {
	switch n.kind {
	case kindMatcher:
		spec := table[n.name]
		if spec.hosts == nil {
			return nil, false
		}
		hs := spec.hosts(n.args)
		if hs == nil { // a wildcard such as HostSNI(`*`)
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
				hosts = slices.DeleteFunc(hosts, func(h string) bool {
					_, found := slices.BinarySearch(hs, h)
					return !found
				})
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

// mentionedHosts returns the hosts of host matchers that are not under a
// negation, wherever they appear in the rule, or nil when there are none.
func mentionedHosts[R any](root *node, table matcherTable[R]) []string {
	var acc []string
	var walk func(n *node, negated bool)
	walk = func(n *node, negated bool) {
		switch n.kind {
		case kindMatcher:
			if spec := table[n.name]; spec.hosts != nil && !negated {
				acc = append(acc, spec.hosts(n.args)...)
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
	return normalizeSet(acc)
}

// normalizeSet sorts and deduplicates hosts, never returning nil.
func normalizeSet(hosts []string) []string {
	if hosts == nil {
		return []string{}
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// suggest returns the matcher name closest to name, or "" when none is
// close enough to be a likely typo.
func suggest[R any](name string, table matcherTable[R]) string {
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, k := range names {
		if strings.EqualFold(k, name) {
			return k
		}
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
