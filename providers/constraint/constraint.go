// Package constraint is the small expression language that providers use to
// choose which workloads they read: Label(`k`,`v`) and LabelRegex(`k`,`re`)
// for Docker containers, Tag(`t`) and TagRegex(`re`) for Consul services,
// combined with &&, ||, ! and parentheses. Arguments are written in
// backticks or double quotes.
//
// The language is generic over the subject a provider tests (a label map, a
// tag list): Compile takes the functions it may call, each of which turns
// its arguments into a predicate once, at compile time.
package constraint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Func builds a predicate from the arguments of one call in an expression.
// It runs once per call, when the expression is compiled, and reports bad
// arguments (a wrong count, a regexp that does not compile) as an error.
type Func[S any] func(args []string) (func(S) bool, error)

// maxDepth bounds nesting so that a hostile expression cannot exhaust the stack.
const maxDepth = 100

// Compile parses expr and returns its predicate. An empty expression (or
// one of spaces) matches everything. Function names match exactly.
func Compile[S any](expr string, funcs map[string]Func[S]) (func(S) bool, error) {
	if strings.TrimSpace(expr) == "" {
		return func(S) bool { return true }, nil
	}
	p := &parser[S]{src: expr, funcs: funcs}
	p.next()
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s", p.tok)
	}
	return f, nil
}

// MustCompile is Compile for expressions known to be valid; it panics on error.
func MustCompile[S any](expr string, funcs map[string]Func[S]) func(S) bool {
	f, err := Compile(expr, funcs)
	if err != nil {
		panic(err)
	}
	return f
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
	tokComma
	tokBad
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return strconv.Quote(t.text)
	default:
		return "'" + t.text + "'"
	}
}

type parser[S any] struct {
	src   string
	pos   int
	tok   token
	funcs map[string]Func[S]
}

func (p *parser[S]) errorf(format string, args ...any) error {
	return fmt.Errorf("constraint: at position %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

// next reads the next token into p.tok.
func (p *parser[S]) next() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	two := ""
	if p.pos+2 <= len(p.src) {
		two = p.src[p.pos : p.pos+2]
	}
	switch c := p.src[p.pos]; {
	case two == "&&":
		p.pos += 2
		p.tok = token{tokAnd, "&&", start}
	case two == "||":
		p.pos += 2
		p.tok = token{tokOr, "||", start}
	case c == '!':
		p.pos++
		p.tok = token{tokNot, "!", start}
	case c == '(':
		p.pos++
		p.tok = token{tokLParen, "(", start}
	case c == ')':
		p.pos++
		p.tok = token{tokRParen, ")", start}
	case c == ',':
		p.pos++
		p.tok = token{tokComma, ",", start}
	case c == '`' || c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], c)
		if end < 0 {
			p.pos = len(p.src)
			p.tok = token{tokBad, "unterminated string", start}
			return
		}
		text := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		if c == '"' {
			if u, err := strconv.Unquote(`"` + text + `"`); err == nil {
				text = u
			}
		}
		p.tok = token{tokString, text, start}
	case isIdent(c):
		for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
			p.pos++
		}
		p.tok = token{tokIdent, p.src[start:p.pos], start}
	default:
		p.pos++
		p.tok = token{tokBad, string(c), start}
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// or parses a || b || ...
func (p *parser[S]) or(depth int) (func(S) bool, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOr {
		p.next()
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s S) bool { return l(s) || right(s) }
	}
	return left, nil
}

// and parses a && b && ...
func (p *parser[S]) and(depth int) (func(S) bool, error) {
	left, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokAnd {
		p.next()
		right, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s S) bool { return l(s) && right(s) }
	}
	return left, nil
}

// unary parses !x, (x) and calls.
func (p *parser[S]) unary(depth int) (func(S) bool, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested too deeply")
	}
	switch p.tok.kind {
	case tokNot:
		p.next()
		f, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return func(s S) bool { return !f(s) }, nil
	case tokLParen:
		p.next()
		f, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf("expected ')', got %s", p.tok)
		}
		p.next()
		return f, nil
	case tokIdent:
		return p.call()
	case tokBad:
		return nil, p.errorf("%s", p.tok.text)
	}
	return nil, p.errorf("expected a function call, '!' or '(', got %s", p.tok)
}

// call parses Name(`arg`, ...).
func (p *parser[S]) call() (func(S) bool, error) {
	name, pos := p.tok.text, p.tok.pos
	fn, ok := p.funcs[name]
	if !ok {
		return nil, p.errorf("unknown function %q (known: %s)", name, known(p.funcs))
	}
	p.next()
	if p.tok.kind != tokLParen {
		return nil, p.errorf("expected '(' after %s, got %s", name, p.tok)
	}
	p.next()
	var args []string
	for p.tok.kind != tokRParen {
		if len(args) > 0 {
			if p.tok.kind != tokComma {
				return nil, p.errorf("expected ',' or ')', got %s", p.tok)
			}
			p.next()
		}
		if p.tok.kind != tokString {
			return nil, p.errorf("expected a quoted argument, got %s", p.tok)
		}
		args = append(args, p.tok.text)
		p.next()
	}
	p.next()
	f, err := fn(args)
	if err != nil {
		return nil, fmt.Errorf("constraint: at position %d: %s: %w", pos, name, err)
	}
	return f, nil
}

func known[S any](funcs map[string]Func[S]) string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
