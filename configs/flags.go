package configs

import (
	"errors"
	"fmt"
	"strings"
)

// Flag is one static configuration flag, Traefik's way:
// --entryPoints.web.address=:80, --providers.docker (a bare boolean or
// section is true), --entryPoints.web.forwardedHeaders.trustedIPs=a,b or
// ...trustedIPs[0]=a (lists).
type Flag struct {
	// Name is the flag as written, without its value: "--entryPoints.web.address".
	Name string
	// Path is the key path: "entryPoints.web.address".
	Path string
	// Value is the value, "true" for a bare boolean or section.
	Value string
}

// IsStaticFlag reports whether a flag name (without dashes or value) is a
// static configuration key rather than a command's own flag: it is a path
// (a dot or a list index in it) or a top-level key such as api.
func IsStaticFlag(name string) bool {
	if strings.ContainsAny(name, ".[") {
		return true
	}
	for _, k := range rootKeys() {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// SplitArgs separates the static configuration flags in args from the
// command's own flags and arguments, which are returned in rest in their
// order. own reports whether name is a flag of the command and whether that
// flag takes a value. A configuration flag takes its value after "=" or, for
// a key that is not a boolean or a section, from the next argument
// (--log.level debug). Flags end at "--", as for the flag package. A
// configuration flag without a value is a problem naming it.
func SplitArgs(args []string, own func(name string) (ok, takesValue bool)) (flags []Flag, rest []string, problems []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(rest, args[i:]...), problems
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if ok, takesValue := own(name); ok || !IsStaticFlag(name) {
			rest = append(rest, a)
			if ok && takesValue && !hasValue && i+1 < len(args) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		f := Flag{Name: "--" + name, Path: name, Value: value}
		if !hasValue {
			segs, _ := splitFlagPath(name)
			t, _ := typeAt(staticType(), segs)
			switch {
			case bareMeansTrue(t):
				f.Value = "true"
			case i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
				f.Value = args[i+1]
				i++
			default:
				problems = append(problems, fmt.Sprintf("%s: missing value (write %s=value)", f.Name, f.Name))
				continue
			}
		}
		flags = append(flags, f)
	}
	return flags, rest, problems
}

// splitFlagPath splits "http.services.web.servers[0].url" into segments,
// list indexes becoming segments of their own ("servers", "0").
func splitFlagPath(path string) ([]string, error) {
	var segs []string
	for _, part := range strings.Split(path, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		if name == "" && (!hasIdx || len(segs) == 0) {
			return nil, errors.New("empty key in the path")
		}
		if name != "" {
			segs = append(segs, name)
		}
		for hasIdx {
			var num string
			num, idx, hasIdx = strings.Cut(idx, "]")
			if !hasIdx || num == "" || strings.Trim(num, "0123456789") != "" {
				return nil, fmt.Errorf("bad list index in %q", part)
			}
			segs = append(segs, num)
			if idx == "" {
				break
			}
			if idx[0] != '[' {
				return nil, fmt.Errorf("bad list index in %q", part)
			}
			idx, hasIdx = idx[1:], true
		}
	}
	return segs, nil
}

// flagEntries turns flags into entries. A repeated flag keeps its last value.
func flagEntries(flags []Flag) ([]entry, []string) {
	var out []entry
	var problems []string
	at := map[string]int{}
	for _, f := range flags {
		segs, err := splitFlagPath(f.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		e := entry{name: f.Name, path: segs, value: f.Value, spell: flagSpelling}
		if i, ok := at[f.Path]; ok {
			out[i] = e
			continue
		}
		at[f.Path] = len(out)
		out = append(out, e)
	}
	return out, problems
}

// flagSpelling writes a key path as a flag: --entryPoints.web.address,
// list indexes in brackets.
func flagSpelling(path []string) string {
	var b strings.Builder
	b.WriteString("--")
	for i, s := range path {
		switch {
		case isIndexKey(s) && i > 0:
			b.WriteString("[" + s + "]")
		case i > 0:
			b.WriteString("." + s)
		default:
			b.WriteString(s)
		}
	}
	return b.String()
}

// isIndexKey reports whether s is a list index: digits only.
func isIndexKey(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
