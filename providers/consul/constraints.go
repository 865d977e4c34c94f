package consul

import (
	"fmt"

	"github.com/ferryproxy/ferry/providers/constraint"
)

// compileConstraints compiles a constraints expression over a service's
// tags: Tag(`t`), TagRegex(`re`), with &&, || and !.
func compileConstraints(expr string) (func([]string) bool, error) {
	f, err := constraint.Compile(expr, constraint.TagFuncs())
	if err != nil {
		return nil, fmt.Errorf("consul catalog: constraints %q: %w", expr, err)
	}
	return f, nil
}
