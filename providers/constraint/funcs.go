package constraint

import (
	"fmt"
	"regexp"
	"slices"
)

// LabelFuncs are the functions of Docker constraints, over a container's
// labels: Label(`key`, `value`) is true when the label is set to exactly
// value; LabelRegex(`key`, `re`) when it is set and re matches its value
// (anywhere, as in Traefik; anchor with ^ and $).
func LabelFuncs() map[string]Func[map[string]string] {
	return map[string]Func[map[string]string]{
		"Label": func(args []string) (func(map[string]string) bool, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("want 2 arguments (key, value), got %d", len(args))
			}
			k, v := args[0], args[1]
			return func(l map[string]string) bool { got, ok := l[k]; return ok && got == v }, nil
		},
		"LabelRegex": func(args []string) (func(map[string]string) bool, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("want 2 arguments (key, regexp), got %d", len(args))
			}
			re, err := regexp.Compile(args[1])
			if err != nil {
				return nil, err
			}
			k := args[0]
			return func(l map[string]string) bool { got, ok := l[k]; return ok && re.MatchString(got) }, nil
		},
	}
}

// TagFuncs are the functions of Consul catalog constraints, over a
// service's tags: Tag(`t`) is true when one tag equals t; TagRegex(`re`)
// when re matches one tag (anywhere; anchor with ^ and $).
func TagFuncs() map[string]Func[[]string] {
	return map[string]Func[[]string]{
		"Tag": func(args []string) (func([]string) bool, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("want 1 argument (tag), got %d", len(args))
			}
			t := args[0]
			return func(tags []string) bool { return slices.Contains(tags, t) }, nil
		},
		"TagRegex": func(args []string) (func([]string) bool, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("want 1 argument (regexp), got %d", len(args))
			}
			re, err := regexp.Compile(args[0])
			if err != nil {
				return nil, err
			}
			return func(tags []string) bool { return slices.ContainsFunc(tags, re.MatchString) }, nil
		},
	}
}
