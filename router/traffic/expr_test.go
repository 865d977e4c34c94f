package traffic

import (
	"strings"
	"testing"

	"go.uber.org/zap"
)

func zapNop() *zap.Logger { return zap.NewNop() }

func TestBreakerExpr(t *testing.T) {
	s := &snapshot{total: 10, netErr: 6}
	s.codes[500-100] = 3
	s.codes[200-100] = 7
	tests := []struct {
		expr string
		want bool
		err  string
	}{
		{"NetworkErrorRatio() > 0.5", true, ""},
		{"NetworkErrorRatio() < 0.5", false, ""},
		{"ResponseCodeRatio(500, 600, 0, 600) >= 0.3", true, ""},
		{"ResponseCodeRatio(500, 600, 0, 600) > 0.3 || NetworkErrorRatio() > 0.5", true, ""},
		{"ResponseCodeRatio(500, 600, 0, 600) > 0.3 && NetworkErrorRatio() > 0.5", false, ""},
		{"(LatencyAtQuantileMS(50.0) > 100) || !(NetworkErrorRatio() != 0.6)", true, ""},
		{"0.5 < NetworkErrorRatio()", true, ""},
		{"NetworkErrorRatio()", false, "is a number"},
		{"NetworkErrorRatio() + 1 > 2", false, "operator +"},
		{"ResponseCodeRatio(500) > 1", false, "takes 4 arguments"},
		{"Foo() > 1", false, "unknown function Foo()"},
		{"NetworkErrorRatio() > x", false, "x is not a number"},
		{"NetworkErrorRatio() >", false, "invalid expression"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := compileBreakerExpr(tt.expr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f(s); got != tt.want {
				t.Errorf("= %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryExpr(t *testing.T) {
	f, err := compileRetryExpr("IsNetworkError() && Attempts() < 2 || ResponseCode() == 503")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    bufState
		want bool
	}{{bufState{1, 502, true}, true}, {bufState{2, 502, true}, false}, {bufState{3, 503, false}, true}, {bufState{1, 200, false}, false}} {
		if got := f(&tt.s); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.s, got, tt.want)
		}
	}
}
