package decode

import (
	"reflect"
	"sort"
	"strings"
)

// FieldNames returns the keys Decode accepts for the struct type t (through
// pointers): json tag names, else field names, with embedded structs
// flattened, as declared and sorted. It is nil when t is not a struct.
func FieldNames(t reflect.Type) []string {
	t = deref(t)
	if t.Kind() != reflect.Struct || IsValueType(t) {
		return nil
	}
	fs := map[string]field{}
	collectFields(t, nil, fs, 0)
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.name)
	}
	sort.Strings(names)
	return names
}

// FieldType returns the type of the field of the struct type t (through
// pointers) that key names, matched case-insensitively as Decode matches it,
// and the field's name as declared.
func FieldType(t reflect.Type, key string) (reflect.Type, string, bool) {
	t = deref(t)
	if t.Kind() != reflect.Struct || IsValueType(t) {
		return nil, "", false
	}
	fs := map[string]field{}
	collectFields(t, nil, fs, 0)
	f, ok := fs[strings.ToLower(key)]
	if !ok {
		return nil, "", false
	}
	return t.FieldByIndex(f.index).Type, f.name, true
}

// IsValueType reports whether Decode fills t (through pointers) from a
// single value: strings, booleans, numbers and encoding.TextUnmarshaler types.
func IsValueType(t reflect.Type) bool { return isScalarType(t) }

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// Suggest returns the candidate closest to word (case-insensitively) when it
// is close enough to be a likely misspelling, else "". It is the "did you
// mean" of unknown keys.
func Suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(w, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// One edit in a short word, two in a longer one, three in a long one:
	// enough for typos and singular/plural, not for unrelated words.
	limit := 1
	switch n := len(w); {
	case n >= 12:
		limit = 3
	case n >= 6:
		limit = 2
	}
	if bestDist < 0 || bestDist > limit || bestDist >= len(w) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
