package configs

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
)

// staticType is the schema that flags and environment variables are read
// against: whatever keys Static has, found by reflection, so that a key
// added to the schema is a flag and a variable at once.
func staticType() reflect.Type { return reflect.TypeFor[Static]() }

// step returns the type reached from t by one key: a struct field (matched
// case-insensitively), any key of a map, or an index of a list. It reports
// false when t takes no key (a value) or has no such field.
func step(t reflect.Type, key string) (reflect.Type, bool) {
	if t == nil {
		return nil, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if decode.IsValueType(t) {
		return nil, false
	}
	switch t.Kind() {
	case reflect.Struct:
		ft, _, ok := decode.FieldType(t, key)
		return ft, ok
	case reflect.Map:
		return t.Elem(), true
	case reflect.Slice:
		if _, err := strconv.Atoi(strings.Trim(key, "[]")); err == nil {
			return t.Elem(), true
		}
	}
	return nil, false
}

// typeAt returns the type at path under t, or false when the path leaves
// the schema.
func typeAt(t reflect.Type, path []string) (reflect.Type, bool) {
	for _, k := range path {
		var ok bool
		if t, ok = step(t, k); !ok {
			return nil, false
		}
	}
	return t, true
}

// isStruct reports whether t (through pointers) is a struct decoded from a map.
func isStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !decode.IsValueType(t)
}

// isMap reports whether t (through pointers) is a map.
func isMap(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.Kind() == reflect.Map
}

// bareMeansTrue reports whether a flag for a key of type t may be given
// without a value (--api.insecure, --providers.docker): booleans and
// optional sections are switched on by their name alone.
func bareMeansTrue(t reflect.Type) bool {
	if t == nil {
		return true // an unknown key: let decoding name it
	}
	if t.Kind() == reflect.Pointer && isStruct(t) {
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Bool
}

// rootKeys are the top-level keys of the static configuration.
func rootKeys() []string { return decode.FieldNames(staticType()) }

// suggestKey returns the declared name closest to the unknown key at the
// end of path (a misspelling), or "".
func suggestKey(path []string) string {
	if len(path) == 0 {
		return ""
	}
	parent, ok := typeAt(staticType(), path[:len(path)-1])
	if !ok || !isStruct(parent) {
		return ""
	}
	return decode.Suggest(path[len(path)-1], decode.FieldNames(parent))
}

// mergeNode lays src over dst, both trees of the schema type t, and returns
// the result (dst, changed in place, or src). Struct keys match
// case-insensitively. Map keys (entry point, resolver names) match exactly,
// else case-insensitively when exactly one key does, so that a variable
// FERRY_ENTRYPOINTS_WEBSECURE_ADDRESS sets the file's entry point
// "webSecure". A value replaces a map, except a true over a section
// (--providers.docker over the file's providers.docker options); indexed
// entries (servers[1]) replace a list's items; anything else replaces.
func mergeNode(dst, src *decode.Node, t reflect.Type) *decode.Node {
	switch {
	case dst == nil:
		return src
	case src == nil:
		return dst
	case src.Kind == decode.Scalar && dst.Kind == decode.Map && strings.EqualFold(strings.TrimSpace(src.Value), "true") && isStruct(t):
		return dst
	case src.Kind == decode.Map && dst.Kind == decode.List:
		return mergeIndexed(dst, src, t)
	case src.Kind != decode.Map || dst.Kind != decode.Map:
		return src
	}
	for _, k := range src.Keys {
		child, _ := step(t, k)
		dk := matchKey(dst, k, t)
		if dk == "" {
			dst.Set(k, src.Map[k])
			continue
		}
		dst.Map[dk] = mergeNode(dst.Map[dk], src.Map[k], child)
	}
	return dst
}

// matchKey returns the key of dst that k names, or "".
func matchKey(dst *decode.Node, k string, t reflect.Type) string {
	if _, ok := dst.Map[k]; ok {
		return k
	}
	var found []string
	for _, dk := range dst.Keys {
		if strings.EqualFold(dk, k) {
			found = append(found, dk)
		}
	}
	if len(found) == 1 || (len(found) > 1 && !isMap(t)) {
		return found[0]
	}
	return ""
}

// mergeIndexed sets the items of the list dst named by src's numeric keys;
// an index past the end appends.
func mergeIndexed(dst, src *decode.Node, t reflect.Type) *decode.Node {
	out := &decode.Node{Kind: decode.List, List: append([]*decode.Node(nil), dst.List...), Line: dst.Line}
	elem, _ := step(t, "0")
	for _, k := range src.Keys {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 {
			return src // not a list after all: let decoding say so
		}
		if i < len(out.List) {
			out.List[i] = mergeNode(out.List[i], src.Map[k], elem)
		} else {
			out.List = append(out.List, src.Map[k])
		}
	}
	return out
}
