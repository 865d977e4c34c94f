package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// validateTraffic checks the traffic-control and resilience middlewares
// (rateLimit, inFlightReq, ipAllowList, buffering, retry, circuitBreaker).
// Fields are named as in the configuration, e.g. rateLimit.average.
func validateTraffic(name string, m *Middleware, add func(Kind, string, string, string, ...any)) {
	bad := func(field, format string, args ...any) { add(KindMiddleware, name, field, format, args...) }
	if rl := m.RateLimit; rl != nil {
		if rl.Average <= 0 {
			bad("rateLimit.average", "must be a positive number of requests per period, got %d", rl.Average)
		}
		if rl.Burst < 0 {
			bad("rateLimit.burst", "negative burst %d", rl.Burst)
		}
		if rl.Period < 0 {
			bad("rateLimit.period", "negative period %s", rl.Period)
		}
		validateSource(rl.SourceCriterion, "rateLimit.sourceCriterion", bad)
	}
	if f := m.InFlightReq; f != nil {
		if f.Amount <= 0 {
			bad("inFlightReq.amount", "must be a positive number of requests, got %d", f.Amount)
		}
		validateSource(f.SourceCriterion, "inFlightReq.sourceCriterion", bad)
	}
	if a := m.IPAllowList; a != nil {
		if len(a.SourceRange) == 0 {
			bad("ipAllowList.sourceRange", "empty: list the IPs and CIDRs allowed")
		}
		validateRanges(a.SourceRange, "ipAllowList.sourceRange", bad)
		validateIPStrategy(a.IPStrategy, "ipAllowList.ipStrategy", bad)
		if c := a.RejectStatusCode; c != 0 && (c < 100 || c > 599) {
			bad("ipAllowList.rejectStatusCode", "invalid status %d", c)
		}
	}
	if b := m.Buffering; b != nil {
		for field, n := range map[string]int64{"maxRequestBodyBytes": b.MaxRequestBodyBytes, "memRequestBodyBytes": b.MemRequestBodyBytes,
			"maxResponseBodyBytes": b.MaxResponseBodyBytes, "memResponseBodyBytes": b.MemResponseBodyBytes} {
			if n < 0 {
				bad("buffering."+field, "negative size %d", n)
			}
		}
		if b.RetryExpression != "" {
			if err := checkExpr(b.RetryExpression, map[string]int{"Attempts": 0, "ResponseCode": 0, "IsNetworkError": 0}); err != nil {
				bad("buffering.retryExpression", "%v", err)
			}
		}
	}
	if r := m.Retry; r != nil {
		if r.Attempts <= 0 {
			bad("retry.attempts", "must be a positive number of tries, got %d", r.Attempts)
		}
		if r.InitialInterval < 0 {
			bad("retry.initialInterval", "negative interval %s", r.InitialInterval)
		}
		if r.MaxRequestBodyBytes < 0 {
			bad("retry.maxRequestBodyBytes", "negative size %d", r.MaxRequestBodyBytes)
		}
		for i, s := range r.Status {
			if !validStatusRange(s) {
				bad(fmt.Sprintf("retry.status[%d]", i), "invalid status or range %q (want e.g. 503 or 500-599)", s)
			}
		}
		if r.DisableRetryOnNetworkError && len(r.Status) == 0 {
			bad("retry.disableRetryOnNetworkError", "nothing left to retry on: set status too")
		}
	}
	if cb := m.CircuitBreaker; cb != nil {
		if cb.Expression == "" {
			bad("circuitBreaker.expression", "missing, e.g. NetworkErrorRatio() > 0.5")
		} else if err := checkExpr(cb.Expression, map[string]int{"NetworkErrorRatio": 0, "ResponseCodeRatio": 4, "LatencyAtQuantileMS": 1}); err != nil {
			bad("circuitBreaker.expression", "%v", err)
		}
		for field, d := range map[string]Duration{"checkPeriod": cb.CheckPeriod, "fallbackDuration": cb.FallbackDuration, "recoveryDuration": cb.RecoveryDuration} {
			if d < 0 {
				bad("circuitBreaker."+field, "negative duration %s", d)
			}
		}
		if c := cb.ResponseCode; c != 0 && (c < 100 || c > 599) {
			bad("circuitBreaker.responseCode", "invalid status %d", c)
		}
	}
}

func validateSource(c *SourceCriterion, field string, bad func(string, string, ...any)) {
	if c == nil {
		return
	}
	n := 0
	for _, set := range []bool{c.IPStrategy != nil, c.RequestHeaderName != "", c.RequestHost} {
		if set {
			n++
		}
	}
	if n > 1 {
		bad(field, "ipStrategy, requestHeaderName and requestHost are exclusive, %d are set", n)
	}
	validateIPStrategy(c.IPStrategy, field+".ipStrategy", bad)
}

func validateIPStrategy(s *IPStrategy, field string, bad func(string, string, ...any)) {
	if s == nil {
		return
	}
	if s.Depth < 0 {
		bad(field+".depth", "negative depth %d", s.Depth)
	}
	validateRanges(s.ExcludedIPs, field+".excludedIPs", bad)
}

func validateRanges(list []string, field string, bad func(string, string, ...any)) {
	for i, s := range list {
		if _, err := ParseIPRange(s); err != nil {
			bad(fmt.Sprintf("%s[%d]", field, i), "%s", err)
		}
	}
}

// validStatusRange accepts "503" and "500-599".
func validStatusRange(s string) bool {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.Atoi(strings.TrimSpace(from))
	if err != nil {
		return false
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(strings.TrimSpace(to)); err != nil {
			return false
		}
	}
	return a >= 100 && b <= 599 && a <= b
}

// checkExpr checks the syntax of a condition over the functions in fns
// (name to argument count): &&, ||, !, parentheses, comparisons, numbers.
// The router compiles it; this finds the mistakes early.
func checkExpr(src string, fns map[string]int) error {
	node, err := parser.ParseExpr(src)
	if err != nil {
		return fmt.Errorf("invalid expression %q: %v", src, err)
	}
	var walk func(n ast.Expr) error
	walk = func(n ast.Expr) error {
		switch n := n.(type) {
		case *ast.ParenExpr:
			return walk(n.X)
		case *ast.BasicLit:
			if n.Kind != token.INT && n.Kind != token.FLOAT {
				return fmt.Errorf("%s is not a number", n.Value)
			}
			return nil
		case *ast.UnaryExpr:
			if n.Op != token.NOT && n.Op != token.SUB && n.Op != token.ADD {
				return fmt.Errorf("operator %s not supported", n.Op)
			}
			return walk(n.X)
		case *ast.BinaryExpr:
			switch n.Op {
			case token.LAND, token.LOR, token.GTR, token.GEQ, token.LSS, token.LEQ, token.EQL, token.NEQ:
			default:
				return fmt.Errorf("operator %s not supported (use &&, ||, !, >, >=, <, <=, ==, !=)", n.Op)
			}
			if err := walk(n.X); err != nil {
				return err
			}
			return walk(n.Y)
		case *ast.CallExpr:
			id, ok := n.Fun.(*ast.Ident)
			if !ok {
				return fmt.Errorf("unknown function")
			}
			want, ok := fns[id.Name]
			if !ok {
				return fmt.Errorf("unknown function %s()", id.Name)
			}
			if len(n.Args) != want {
				return fmt.Errorf("%s() takes %d arguments, got %d", id.Name, want, len(n.Args))
			}
			for _, a := range n.Args {
				if err := walk(a); err != nil {
					return err
				}
			}
			return nil
		case *ast.Ident:
			return fmt.Errorf("unknown name %s (call functions with parentheses)", n.Name)
		}
		return fmt.Errorf("unsupported expression")
	}
	if err := walk(node); err != nil {
		return fmt.Errorf("invalid expression %q: %v", src, err)
	}
	return nil
}
