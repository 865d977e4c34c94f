package constraint

import (
	"strings"
	"testing"
)

func TestLabels(t *testing.T) {
	labels := map[string]string{"env": "prod", "team": "web-a", "empty": ""}
	tests := []struct {
		expr string
		want bool
	}{
		{"", true},
		{"   ", true},
		{"Label(`env`, `prod`)", true},
		{`Label("env", "prod")`, true},
		{"Label(`env`, `dev`)", false},
		{"Label(`missing`, ``)", false},
		{"Label(`empty`, ``)", true},
		{"!Label(`env`, `dev`)", true},
		{"LabelRegex(`team`, `^web-`)", true},
		{"LabelRegex(`team`, `b-a`)", true},
		{"LabelRegex(`team`, `^api`)", false},
		{"LabelRegex(`nope`, `.*`)", false},
		{"Label(`env`, `prod`) && Label(`team`, `x`)", false},
		{"Label(`env`, `prod`) || Label(`team`, `x`)", true},
		{"Label(`env`, `dev`) || Label(`team`, `x`) || LabelRegex(`team`,`web`)", true},
		{"!(Label(`env`, `prod`) && LabelRegex(`team`, `web`))", false},
		{"Label(`env`, `dev`) && Label(`a`,`b`) || Label(`env`, `prod`)", true}, // && binds tighter
		{"Label(`env`, `prod`) || Label(`a`,`b`) && Label(`env`, `dev`)", true},
		{"!!Label(`env`, `prod`)", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := Compile(tt.expr, LabelFuncs())
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := f(labels); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTags(t *testing.T) {
	tags := []string{"public", "ferry.enable=true", "v2"}
	tests := []struct {
		expr string
		want bool
	}{
		{"Tag(`public`)", true},
		{"Tag(`private`)", false},
		{"TagRegex(`^v[0-9]+$`)", true},
		{"!Tag(`public`) || TagRegex(`enable=true`)", true},
		{"Tag(`public`) && !Tag(`v2`)", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := Compile(tt.expr, TagFuncs())
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := f(tags); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"Label(`a`)", "position 0: Label: want 2 arguments"},
		{"Lable(`a`,`b`)", `unknown function "Lable" (known: Label, LabelRegex)`},
		{"LabelRegex(`a`, `(`)", "LabelRegex: error parsing regexp"},
		{"Label(`a`,`b`) &&", "expected a function call"},
		{"Label(`a`,`b`", "expected ',' or ')'"},
		{"(Label(`a`,`b`)", "expected ')'"},
		{"Label(`a`,`b`) Label(`a`,`b`)", "unexpected 'Label'"},
		{"Label(`a`,`b)", "unterminated string"},
		{"Label(a,`b`)", "expected a quoted argument"},
		{"Label", "expected '(' after Label"},
		{"Label(`a`,`b`) & Label(`a`,`b`)", "position 15: unexpected '&'"},
		{strings.Repeat("(", 200) + "Label(`a`,`b`)" + strings.Repeat(")", 200), "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr, LabelFuncs())
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "constraint: ") {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	MustCompile("Nope()", TagFuncs())
}
