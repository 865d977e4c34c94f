package decode

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Decode fills out, a non-nil pointer, from n. Struct fields match keys by
// their json tag name (else the field name), case-insensitively; embedded
// structs are flattened. Maps keep keys as written. A slice takes a List, a
// Map whose keys are all integers (in numeric order), or, for slices of
// values, a Scalar of comma-separated items. Scalars convert to strings,
// bools (true/false in any case), integers, floats, and any type
// implementing encoding.TextUnmarshaler. Pointers are allocated; a pointer
// to a struct is allocated by an empty or null value, by "true", or by a
// map (even an empty one), and left nil by "false". Map and list elements
// are never nil pointers.
//
// Decoding continues past problems, and every one is returned; nil means
// none. A map entry whose value had problems is still stored.
func Decode(n *Node, out any) Errors {
	v := reflect.ValueOf(out)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return Errors{{Msg: fmt.Sprintf("decode: want a non-nil pointer, got %T", out)}}
	}
	d := decoder{fields: map[reflect.Type]map[string]field{}}
	if n == nil {
		return nil
	}
	d.value(n, v.Elem(), nil, n.Line)
	return d.errs
}

// decoder holds one Decode call's state.
type decoder struct {
	errs   Errors
	fields map[reflect.Type]map[string]field // lower-case key -> field, per struct type
}

// field is a struct field reachable from a key.
type field struct {
	index []int  // for FieldByIndex, through embedded structs
	name  string // the name as declared, for messages
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) fail(path []string, line int, format string, args ...any) {
	keys := append([]string(nil), path...)
	d.errs = append(d.errs, &Error{Path: JoinPath(keys), Keys: keys, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// line is the node's line, or the nearest known one.
func line(n *Node, parent int) int {
	if n != nil && n.Line > 0 {
		return n.Line
	}
	return parent
}

// value decodes n into v, which is settable.
func (d *decoder) value(n *Node, v reflect.Value, path []string, parentLine int) {
	if n == nil {
		return // a hand-built tree may hold nil entries: nothing to set
	}
	ln := line(n, parentLine)
	if v.Kind() == reflect.Pointer {
		d.pointer(n, v, path, ln)
		return
	}
	if n.Kind == Scalar && n.Null {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		if n.Kind != Scalar {
			d.fail(path, ln, "expected a value, got a %s", n.Kind)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(path, ln, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, ln)
	case reflect.Map:
		d.mapping(n, v, path, ln)
	case reflect.Slice:
		d.slice(n, v, path, ln)
	default:
		if n.Kind != Scalar {
			d.fail(path, ln, "expected a value, got a %s", n.Kind)
			return
		}
		if msg := scalar(n.Value, v); msg != "" {
			d.fail(path, ln, "%s", msg)
		}
	}
}

// pointer allocates v as needed and decodes into what it points to.
func (d *decoder) pointer(n *Node, v reflect.Value, path []string, ln int) {
	elem := v.Type().Elem()
	isStruct := elem.Kind() == reflect.Struct && !reflect.PointerTo(elem).Implements(textUnmarshaler)
	if n.Kind == Scalar && isStruct {
		switch {
		case n.Null || strings.TrimSpace(n.Value) == "" || strings.EqualFold(n.Value, "true"):
			if v.IsNil() {
				v.Set(reflect.New(elem))
			}
			return
		case strings.EqualFold(n.Value, "false"):
			v.Set(reflect.Zero(v.Type()))
			return
		}
	}
	if n.Kind == Scalar && n.Null {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if !v.IsNil() {
		d.value(n, v.Elem(), path, ln)
		return
	}
	v.Set(reflect.New(elem))
	before := len(d.errs)
	d.value(n, v.Elem(), path, ln)
	if len(d.errs) > before && isScalarType(elem) {
		// A bad value leaves an optional value unset rather than zero.
		v.Set(reflect.Zero(v.Type()))
	}
}

func (d *decoder) structure(n *Node, v reflect.Value, path []string, ln int) {
	if n.Kind != Map {
		if n.Kind == Scalar && strings.TrimSpace(n.Value) == "" {
			return
		}
		d.fail(path, ln, "expected a map, got a %s", n.Kind)
		return
	}
	fields := d.fieldsOf(v.Type())
	// Keys that differ only in case set the same field: group them.
	groups := map[string][]string{} // field name -> keys
	for _, key := range n.Keys {
		if f, ok := fields[strings.ToLower(key)]; ok {
			groups[f.name] = append(groups[f.name], key)
		}
	}
	for _, key := range n.Keys {
		p := append(path[:len(path):len(path)], key)
		child := n.Map[key]
		f, ok := fields[strings.ToLower(key)]
		if !ok {
			d.fail(p, line(child, ln), "unknown key")
			continue
		}
		keys := groups[f.name]
		if keys[0] != key {
			continue // decoded with the first spelling
		}
		if len(keys) > 1 {
			child = d.combine(n, keys, p)
		}
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			d.fail(p, line(child, ln), "cannot set embedded field")
			continue
		}
		d.value(child, fv, p, ln)
	}
}

// combine returns one node for keys of n that name the same field in
// different cases (labels mixing loadBalancer and loadbalancer): maps are
// merged; anything else is a duplicate, and the first is used.
func (d *decoder) combine(n *Node, keys []string, path []string) *Node {
	nodes := make([]*Node, 0, len(keys))
	for _, k := range keys {
		c := n.Map[k]
		if first := n.Map[keys[0]]; c == nil || c.Kind != Map || first == nil || first.Kind != Map {
			if k != keys[0] {
				d.fail(append(path[:len(path)-1:len(path)-1], k), line(c, n.Line), "duplicate key (also written as %q)", keys[0])
			}
			continue
		}
		nodes = append(nodes, c)
	}
	if len(nodes) == 0 {
		return n.Map[keys[0]]
	}
	return d.mergeMaps(nodes, path)
}

// mergeMaps merges Map nodes; an entry in two of them that is not a map in
// both is a duplicate, and the first is used.
func (d *decoder) mergeMaps(nodes []*Node, path []string) *Node {
	out := NewMap(nodes[0].Line)
	for _, n := range nodes {
		for _, k := range n.Keys {
			c := n.Map[k]
			if c == nil {
				continue
			}
			prev, ok := out.Map[k]
			p := append(path[:len(path):len(path)], k)
			switch {
			case !ok:
				out.Set(k, c)
			case prev.Kind == Map && c.Kind == Map:
				out.Map[k] = d.mergeMaps([]*Node{prev, c}, p)
			default:
				d.fail(p, line(c, n.Line), "duplicate key")
			}
		}
	}
	return out
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded
// struct pointers on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// fieldsOf returns the keys of struct type t, built once per Decode call.
func (d *decoder) fieldsOf(t reflect.Type) map[string]field {
	if fs, ok := d.fields[t]; ok {
		return fs
	}
	fs := map[string]field{}
	d.fields[t] = fs
	collectFields(t, nil, fs, 0)
	return fs
}

// collectFields adds t's fields to fs; shallower fields win over embedded ones.
func collectFields(t reflect.Type, index []int, fs map[string]field, depth int) {
	if depth > 10 {
		return
	}
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			embedded = append(embedded, sf)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		key := strings.ToLower(name)
		if _, ok := fs[key]; !ok {
			fs[key] = field{index: append(index[:len(index):len(index)], i), name: name}
		}
	}
	for _, sf := range embedded {
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		sub := map[string]field{}
		collectFields(ft, append(index[:len(index):len(index)], sf.Index...), sub, depth+1)
		for k, f := range sub {
			if _, ok := fs[k]; !ok {
				fs[k] = f
			}
		}
	}
}

func (d *decoder) mapping(n *Node, v reflect.Value, path []string, ln int) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, ln, "unsupported map key type %s", t.Key())
		return
	}
	if n.Kind != Map {
		if n.Kind == Scalar && strings.TrimSpace(n.Value) == "" {
			return
		}
		d.fail(path, ln, "expected a map, got a %s", n.Kind)
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(n.Keys)))
	}
	for _, key := range n.Keys {
		child := n.Map[key]
		k := reflect.ValueOf(key).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		d.value(child, elem, append(path[:len(path):len(path)], key), ln)
		v.SetMapIndex(k, nonNil(elem))
	}
}

// nonNil allocates elem when it is a nil pointer, so that maps and lists
// never hold one.
func nonNil(elem reflect.Value) reflect.Value {
	if elem.Kind() == reflect.Pointer && elem.IsNil() {
		elem.Set(reflect.New(elem.Type().Elem()))
	}
	return elem
}

func (d *decoder) slice(n *Node, v reflect.Value, path []string, ln int) {
	t := v.Type()
	var items []*Node
	var names []string // path part of each item
	switch n.Kind {
	case List:
		items = n.List
		for i := range items {
			names = append(names, "["+strconv.Itoa(i)+"]")
		}
	case Map:
		idx := make([]int, len(n.Keys))
		for i, key := range n.Keys {
			x, err := strconv.Atoi(key)
			if err != nil || x < 0 {
				d.fail(path, ln, "expected a list, got a map (key %q is not a list index)", key)
				return
			}
			idx[i] = x
		}
		order := make([]int, len(n.Keys))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return idx[order[a]] < idx[order[b]] })
		for _, i := range order {
			items = append(items, n.Map[n.Keys[i]])
			names = append(names, "["+n.Keys[i]+"]")
		}
	case Scalar:
		if !isScalarType(t.Elem()) {
			d.fail(path, ln, "expected a list, got a value")
			return
		}
		for _, part := range strings.Split(n.Value, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, NewScalar(part, n.Line))
				names = append(names, "["+strconv.Itoa(len(names))+"]")
			}
		}
	}
	out := reflect.MakeSlice(t, len(items), len(items))
	for i, item := range items {
		d.value(item, out.Index(i), append(path[:len(path):len(path)], names[i]), ln)
		nonNil(out.Index(i))
	}
	if len(items) == 0 {
		out = reflect.Zero(t)
	}
	v.Set(out)
}

// isScalarType reports whether t (through pointers) is decoded from a value.
func isScalarType(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// scalar sets v from s and returns a message on failure.
func scalar(s string, v reflect.Value) string {
	t := strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch {
		case strings.EqualFold(t, "true"):
			v.SetBool(true)
		case strings.EqualFold(t, "false"):
			v.SetBool(false)
		default:
			return fmt.Sprintf("invalid boolean %q (want true or false)", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := strconv.ParseInt(t, 10, v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("invalid integer %q", s)
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x, err := strconv.ParseUint(t, 10, v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("invalid unsigned integer %q", s)
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(t, v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("invalid number %q", s)
		}
		v.SetFloat(x)
	default:
		return fmt.Sprintf("unsupported type %s", v.Type())
	}
	return ""
}
