package rule

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of parentheses and negations, so that a
// hostile rule cannot exhaust the stack.
const maxDepth = 100

// ParseError is a syntax or compile error in a rule, with the 0-based byte
// offset of the problem in the rule text.
type ParseError struct {
	// Pos is the byte offset in the rule text where the problem starts.
	Pos int
	// Msg describes the problem.
	Msg string
	// Err is the underlying cause, such as a regexp syntax error, or nil.
	Err error
}

// Error formats the error as "rule: at position 12: expected ')' ...".
func (e *ParseError) Error() string {
	return "rule: at position " + strconv.Itoa(e.Pos) + ": " + e.Msg
}

// Unwrap returns the underlying cause, if any.
func (e *ParseError) Unwrap() error { return e.Err }

func errorAt(pos int, format string, a ...any) *ParseError {
	return &ParseError{Pos: pos, Msg: fmt.Sprintf(format, a...)}
}

// nodeKind tells what a node of the syntax tree is.
type nodeKind uint8

const (
	kindMatcher nodeKind = iota
	kindAnd
	kindOr
	kindNot
)

// node is one element of the parsed expression. And and Or nodes are
// n-ary and never have a child of their own kind: a && (b && c) parses to
// the same tree as a && b && c.
type node struct {
	kind     nodeKind
	pos      int      // offset of the matcher name or operator
	name     string   // matcher name
	args     []string // matcher arguments, unquoted
	argPos   []int    // offset of each argument's opening quote
	children []*node  // operands of And, Or (two or more) and Not (one)
}

// add appends child to an And or Or node, splicing in the children of a
// child of the same kind.
func (n *node) add(child *node) {
	if child.kind == n.kind {
		n.children = append(n.children, child.children...)
		return
	}
	n.children = append(n.children, child)
}

// precedence of each kind, for printing.
func (k nodeKind) precedence() int {
	switch k {
	case kindOr:
		return 1
	case kindAnd:
		return 2
	case kindNot:
		return 3
	default:
		return 4
	}
}

// String prints the node in canonical form.
func (n *node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kindMatcher:
		b.WriteString(n.name)
		b.WriteByte('(')
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeArg(b, a)
		}
		b.WriteByte(')')
	case kindNot:
		b.WriteByte('!')
		n.writeChild(b, n.children[0])
	case kindAnd, kindOr:
		op := " && "
		if n.kind == kindOr {
			op = " || "
		}
		for i, c := range n.children {
			if i > 0 {
				b.WriteString(op)
			}
			n.writeChild(b, c)
		}
	}
}

// writeChild prints c, in parentheses when it binds more loosely than n.
func (n *node) writeChild(b *strings.Builder, c *node) {
	if c.kind.precedence() < n.kind.precedence() {
		b.WriteByte('(')
		c.write(b)
		b.WriteByte(')')
		return
	}
	c.write(b)
}

// writeArg quotes an argument with backticks, or as a Go string when it
// contains a backtick.
func writeArg(b *strings.Builder, s string) {
	if strings.IndexByte(s, '`') >= 0 {
		b.WriteString(strconv.Quote(s))
		return
	}
	b.WriteByte('`')
	b.WriteString(s)
	b.WriteByte('`')
}

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokLParen
	tokRParen
	tokComma
	tokAnd
	tokOr
	tokNot
)

type token struct {
	kind tokenKind
	pos  int
	val  string // identifier, or unquoted string
}

// describe names the token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokIdent:
		return fmt.Sprintf("%q", t.val)
	case tokString:
		return "string"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	case tokAnd:
		return "'&&'"
	case tokOr:
		return "'||'"
	default:
		return "'!'"
	}
}

// lexer splits a rule into tokens on demand.
type lexer struct {
	src string
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[start]
	single := func(k tokenKind) (token, error) {
		l.pos++
		return token{kind: k, pos: start}, nil
	}
	double := func(k tokenKind, op string) (token, error) {
		if !strings.HasPrefix(l.src[start:], op) {
			return token{}, errorAt(start, "expected '%s', found '%c'", op, c)
		}
		l.pos += 2
		return token{kind: k, pos: start}, nil
	}
	switch {
	case c == '(':
		return single(tokLParen)
	case c == ')':
		return single(tokRParen)
	case c == ',':
		return single(tokComma)
	case c == '!':
		return single(tokNot)
	case c == '&':
		return double(tokAnd, "&&")
	case c == '|':
		return double(tokOr, "||")
	case c == '`':
		end := strings.IndexByte(l.src[start+1:], '`')
		if end < 0 {
			return token{}, errorAt(start, "unterminated string")
		}
		l.pos = start + 1 + end + 1
		return token{kind: tokString, pos: start, val: l.src[start+1 : start+1+end]}, nil
	case c == '"':
		return l.quoted(start)
	case isIdentStart(c):
		l.pos++
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokIdent, pos: start, val: l.src[start:l.pos]}, nil
	case c == '\'':
		return token{}, errorAt(start, "single-quoted strings are not supported, use backticks or double quotes")
	default:
		r, _ := utf8.DecodeRuneInString(l.src[start:])
		return token{}, errorAt(start, "unexpected character %q", r)
	}
}

// quoted scans a double-quoted string starting at start.
func (l *lexer) quoted(start int) (token, error) {
	i := start + 1
	for i < len(l.src) {
		switch l.src[i] {
		case '\\':
			i += 2
			continue
		case '\n':
			return token{}, errorAt(start, "unterminated string")
		case '"':
			s, err := strconv.Unquote(l.src[start : i+1])
			if err != nil {
				return token{}, &ParseError{Pos: start, Msg: "invalid string literal " + l.src[start:i+1], Err: err}
			}
			l.pos = i + 1
			return token{kind: tokString, pos: start, val: s}, nil
		}
		i++
	}
	return token{}, errorAt(start, "unterminated string")
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lex   lexer
	tok   token
	depth int
}

// parse turns a rule into its syntax tree.
func parse(src string) (*node, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errorAt(p.tok.pos, "empty rule")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, errorAt(p.tok.pos, "unexpected %s, expected '&&', '||' or end of rule", p.tok.describe())
	}
	return n, nil
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// binary parses operands separated by op into an n-ary node of kind k.
func (p *parser) binary(k nodeKind, op tokenKind, operand func() (*node, error)) (*node, error) {
	left, err := operand()
	if err != nil || p.tok.kind != op {
		return left, err
	}
	n := &node{kind: k, pos: p.tok.pos}
	n.add(left)
	for p.tok.kind == op {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := operand()
		if err != nil {
			return nil, err
		}
		n.add(right)
	}
	return n, nil
}

func (p *parser) parseOr() (*node, error) { return p.binary(kindOr, tokOr, p.parseAnd) }

func (p *parser) parseAnd() (*node, error) { return p.binary(kindAnd, tokAnd, p.parseUnary) }

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return errorAt(pos, "rule is nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (*node, error) {
	switch p.tok.kind {
	case tokNot:
		pos := p.tok.pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		child, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &node{kind: kindNot, pos: pos, children: []*node{child}}, nil
	case tokLParen:
		open := p.tok.pos
		if err := p.enter(open); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, errorAt(p.tok.pos, "expected ')' to close '(' at position %d, found %s", open, p.tok.describe())
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		p.depth--
		return n, nil
	case tokIdent:
		return p.parseMatcher()
	case tokEOF:
		return nil, errorAt(p.tok.pos, "unexpected end of rule, expected a matcher, '!' or '('")
	default:
		return nil, errorAt(p.tok.pos, "unexpected %s, expected a matcher, '!' or '('", p.tok.describe())
	}
}

func (p *parser) parseMatcher() (*node, error) {
	n := &node{kind: kindMatcher, pos: p.tok.pos, name: p.tok.val}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokLParen {
		return nil, errorAt(p.tok.pos, "expected '(' after %s, found %s", n.name, p.tok.describe())
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokRParen {
		return n, p.advance()
	}
	for {
		if p.tok.kind != tokString {
			return nil, errorAt(p.tok.pos, "%s: expected a string argument in backticks or double quotes, found %s", n.name, p.tok.describe())
		}
		n.args = append(n.args, p.tok.val)
		n.argPos = append(n.argPos, p.tok.pos)
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
		case tokRParen:
			return n, p.advance()
		default:
			return nil, errorAt(p.tok.pos, "%s: expected ',' or ')' after argument, found %s", n.name, p.tok.describe())
		}
	}
}
