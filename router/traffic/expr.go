package traffic

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
)

// exprFunc is a function an expression may call: it takes constant numeric
// arguments and returns a number, or a condition when cond is set.
type exprFunc[E any] struct {
	args int
	num  func(e E, args []float64) float64
	cond func(e E, args []float64) bool
}

// compileExpr compiles a condition such as
//
//	NetworkErrorRatio() > 0.5 || (ResponseCodeRatio(500, 600, 0, 600) > 0.25 && LatencyAtQuantileMS(50) > 100)
//
// into a function of E. It knows &&, ||, !, parentheses, the comparisons
// > >= < <= == != between numbers and function results, and the functions
// in fs. Everything is resolved once here; evaluation does not allocate.
func compileExpr[E any](src string, fs map[string]exprFunc[E]) (func(E) bool, error) {
	if src == "" {
		return nil, errors.New("empty expression")
	}
	node, err := parser.ParseExpr(src)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %w", src, err)
	}
	c := exprCompiler[E]{fs: fs}
	f, err := c.cond(node)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %w", src, err)
	}
	return f, nil
}

type exprCompiler[E any] struct {
	fs map[string]exprFunc[E]
}

func (c exprCompiler[E]) cond(n ast.Expr) (func(E) bool, error) {
	switch n := n.(type) {
	case *ast.ParenExpr:
		return c.cond(n.X)
	case *ast.UnaryExpr:
		if n.Op != token.NOT {
			return nil, fmt.Errorf("operator %s: not a condition", n.Op)
		}
		x, err := c.cond(n.X)
		if err != nil {
			return nil, err
		}
		return func(e E) bool { return !x(e) }, nil
	case *ast.CallExpr:
		name, spec, args, err := c.call(n)
		if err != nil {
			return nil, err
		}
		if spec.cond == nil {
			return nil, fmt.Errorf("%s() is a number: compare it, e.g. %s() > 0.5", name, name)
		}
		return func(e E) bool { return spec.cond(e, args) }, nil
	case *ast.BinaryExpr:
		switch n.Op {
		case token.LAND, token.LOR:
			x, err := c.cond(n.X)
			if err != nil {
				return nil, err
			}
			y, err := c.cond(n.Y)
			if err != nil {
				return nil, err
			}
			if n.Op == token.LAND {
				return func(e E) bool { return x(e) && y(e) }, nil
			}
			return func(e E) bool { return x(e) || y(e) }, nil
		case token.GTR, token.GEQ, token.LSS, token.LEQ, token.EQL, token.NEQ:
			x, err := c.num(n.X)
			if err != nil {
				return nil, err
			}
			y, err := c.num(n.Y)
			if err != nil {
				return nil, err
			}
			return compare(n.Op, x, y), nil
		}
		return nil, fmt.Errorf("operator %s not supported (use &&, ||, !, >, >=, <, <=, ==, !=)", n.Op)
	}
	return nil, fmt.Errorf("%s is not a condition", exprText(n))
}

func compare[E any](op token.Token, x, y func(E) float64) func(E) bool {
	switch op {
	case token.GTR:
		return func(e E) bool { return x(e) > y(e) }
	case token.GEQ:
		return func(e E) bool { return x(e) >= y(e) }
	case token.LSS:
		return func(e E) bool { return x(e) < y(e) }
	case token.LEQ:
		return func(e E) bool { return x(e) <= y(e) }
	case token.EQL:
		return func(e E) bool { return x(e) == y(e) }
	default:
		return func(e E) bool { return x(e) != y(e) }
	}
}

func (c exprCompiler[E]) num(n ast.Expr) (func(E) float64, error) {
	switch n := n.(type) {
	case *ast.ParenExpr:
		return c.num(n.X)
	case *ast.BasicLit, *ast.UnaryExpr:
		v, err := constant(n)
		if err != nil {
			return nil, err
		}
		return func(E) float64 { return v }, nil
	case *ast.CallExpr:
		name, spec, args, err := c.call(n)
		if err != nil {
			return nil, err
		}
		if spec.num == nil {
			return nil, fmt.Errorf("%s() is a condition, not a number", name)
		}
		return func(e E) float64 { return spec.num(e, args) }, nil
	case *ast.BinaryExpr:
		return nil, fmt.Errorf("operator %s not supported here (compare a function's result with a number)", n.Op)
	}
	return nil, fmt.Errorf("%s is not a number", exprText(n))
}

func (c exprCompiler[E]) call(n *ast.CallExpr) (string, exprFunc[E], []float64, error) {
	id, ok := n.Fun.(*ast.Ident)
	if !ok {
		return "", exprFunc[E]{}, nil, fmt.Errorf("%s is not a known function", exprText(n.Fun))
	}
	spec, ok := c.fs[id.Name]
	if !ok {
		return "", exprFunc[E]{}, nil, fmt.Errorf("unknown function %s()", id.Name)
	}
	if len(n.Args) != spec.args {
		return "", exprFunc[E]{}, nil, fmt.Errorf("%s() takes %d arguments, got %d", id.Name, spec.args, len(n.Args))
	}
	args := make([]float64, len(n.Args))
	for i, a := range n.Args {
		v, err := constant(a)
		if err != nil {
			return "", exprFunc[E]{}, nil, fmt.Errorf("%s() argument %d: %w", id.Name, i+1, err)
		}
		args[i] = v
	}
	return id.Name, spec, args, nil
}

// constant evaluates a numeric literal, possibly negated.
func constant(n ast.Expr) (float64, error) {
	switch n := n.(type) {
	case *ast.BasicLit:
		if n.Kind != token.INT && n.Kind != token.FLOAT {
			return 0, fmt.Errorf("%s is not a number", n.Value)
		}
		return strconv.ParseFloat(n.Value, 64)
	case *ast.UnaryExpr:
		if n.Op == token.SUB || n.Op == token.ADD {
			v, err := constant(n.X)
			if n.Op == token.SUB {
				v = -v
			}
			return v, err
		}
	case *ast.ParenExpr:
		return constant(n.X)
	}
	return 0, fmt.Errorf("%s is not a number", exprText(n))
}

// exprText names a node in an error message.
func exprText(n ast.Expr) string {
	switch n := n.(type) {
	case *ast.Ident:
		return n.Name
	case *ast.BasicLit:
		return n.Value
	case *ast.CallExpr:
		return exprText(n.Fun) + "()"
	}
	return fmt.Sprintf("expression at offset %d", n.Pos()-1)
}
