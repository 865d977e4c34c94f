package decode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

type inner struct {
	Name string `json:"name,omitempty"`
	N    int    `json:"n"`
}

type Embedded struct {
	Extra string `json:"extra"`
}

type target struct {
	S     string            `json:"s"`
	B     bool              `json:"b"`
	I     int               `json:"i"`
	I8    int8              `json:"i8"`
	U     uint16            `json:"u"`
	F     float64           `json:"f"`
	D     config.Duration   `json:"d"`
	PB    *bool             `json:"pb"`
	PI    *int              `json:"pi"`
	L     []string          `json:"l"`
	LI    []int             `json:"li"`
	LD    []config.Duration `json:"ld"`
	M     map[string]string `json:"m"`
	MP    map[string]*inner `json:"mp"`
	P     *inner            `json:"p"`
	In    inner             `json:"in"`
	Items []inner           `json:"items"`
	PList []*inner          `json:"plist"`
	Embedded
	Skip      string `json:"-"`
	NoTag     string
	CamelCase string `json:"camelCase"`
}

func ptr[T any](v T) *T { return &v }

func yamlNode(t *testing.T, doc string) *Node {
	t.Helper()
	n, err := ParseYAML([]byte(doc))
	if err != nil {
		t.Fatalf("ParseYAML: %v", err)
	}
	return n
}

func TestDecodeConversions(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want target
	}{
		{"string", "s: hello world", target{S: "hello world"}},
		{"string from number", "s: 0123", target{S: "0123"}},
		{"bool true", "b: true", target{B: true}},
		{"bool upper", "b: TRUE", target{B: true}},
		{"bool quoted mixed", `b: "True"`, target{B: true}},
		{"int", "i: -42", target{I: -42}},
		{"int8", "i8: 127", target{I8: 127}},
		{"uint", "u: 65535", target{U: 65535}},
		{"float", "f: 2.5", target{F: 2.5}},
		{"duration text", "d: 1m30s", target{D: config.Duration(90 * time.Second)}},
		{"duration seconds", "d: 10", target{D: config.Duration(10 * time.Second)}},
		{"pointer bool", "pb: false", target{PB: ptr(false)}},
		{"pointer int", "pi: 3", target{PI: ptr(3)}},
		{"null pointer stays nil", "pb: ~", target{}},
		{"list", "l: [a, b]", target{L: []string{"a", "b"}}},
		{"comma list", "l: a, b ,c", target{L: []string{"a", "b", "c"}}},
		{"single value list", "l: web", target{L: []string{"web"}}},
		{"empty comma list", `l: ""`, target{}},
		{"int comma list", "li: 1,2,3", target{LI: []int{1, 2, 3}}},
		{"duration list", "ld: [1s, 2]", target{LD: []config.Duration{config.Duration(time.Second), config.Duration(2 * time.Second)}}},
		{"list from numeric map", "l: {'10': c, '2': b, '0': a}", target{L: []string{"a", "b", "c"}}},
		{"map keeps keys as written", "m: {X-Foo: a, x-bar: b}", target{M: map[string]string{"X-Foo": "a", "x-bar": "b"}}},
		{"map of pointers", "mp: {a: {n: 1}, b: }", target{MP: map[string]*inner{"a": {N: 1}, "b": {}}}},
		{"pointer struct from map", "p: {name: x}", target{P: &inner{Name: "x"}}},
		{"pointer struct from empty map", "p: {}", target{P: &inner{}}},
		{"pointer struct from null", "p:", target{P: &inner{}}},
		{"pointer struct from true", "p: true", target{P: &inner{}}},
		{"pointer struct from false", "p: false", target{}},
		{"struct", "in: {name: a, n: 2}", target{In: inner{Name: "a", N: 2}}},
		{"list of structs", "items: [{n: 1}, {n: 2}]", target{Items: []inner{{N: 1}, {N: 2}}}},
		{"list of pointers never nil", "plist: [{n: 1}, ~]", target{PList: []*inner{{N: 1}, {}}}},
		{"embedded", "extra: e", target{Embedded: Embedded{Extra: "e"}}},
		{"field without tag", "notag: v", target{NoTag: "v"}},
		{"upper-case key", "CAMELCASE: v", target{CamelCase: "v"}},
		{"upper-case nested keys", "P: {NAME: x}\nITEMS: [{N: 1}]", target{P: &inner{Name: "x"}, Items: []inner{{N: 1}}}},
		{"lower-case key", "camelcase: v", target{CamelCase: "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			errs := Decode(yamlNode(t, tt.doc), &got)
			if errs != nil {
				t.Fatalf("Decode: %v", errs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // Error() of each error, in order
	}{
		{"unknown key", "s: a\nss: b", []string{"ss (line 2): unknown key"}},
		{"skipped field is unknown", "skip: x", []string{"skip (line 1): unknown key"}},
		{"bad bool", "b: yes", []string{`b (line 1): invalid boolean "yes" (want true or false)`}},
		{"bad int", "i: 1.5", []string{`i (line 1): invalid integer "1.5"`}},
		{"int overflow", "i8: 300", []string{`i8 (line 1): invalid integer "300"`}},
		{"negative uint", "u: -1", []string{`u (line 1): invalid unsigned integer "-1"`}},
		{"bad float", "f: abc", []string{`f (line 1): invalid number "abc"`}},
		{"bad duration", "d: soon", []string{`d (line 1): invalid duration "soon" (want e.g. 10s, 250ms)`}},
		{"list for a value", "s: [a]", []string{"s (line 1): expected a value, got a list"}},
		{"map for a value", "s: {a: b}", []string{"s (line 1): expected a value, got a map"}},
		{"map for a duration", "d: {a: b}", []string{"d (line 1): expected a value, got a map"}},
		{"list for a struct", "in: [a]", []string{"in (line 1): expected a map, got a list"}},
		{"value for a struct", "in: x", []string{"in (line 1): expected a map, got a value"}},
		{"value for a struct pointer", "p: x", []string{"p (line 1): expected a map, got a value"}},
		{"list for a map", "m: [a]", []string{"m (line 1): expected a map, got a list"}},
		{"value for a struct list", "items: x", []string{"items (line 1): expected a list, got a value"}},
		{"non-numeric map for a list", "l: {a: b}", []string{`l (line 1): expected a list, got a map (key "a" is not a list index)`}},
		{"duplicate in another case", "s: a\nS: b", []string{`S (line 2): duplicate key (also written as "s")`}},
		{"error inside list", "items:\n  - n: 1\n  - n: x\n    bad: 1", []string{
			`items[1].n (line 3): invalid integer "x"`,
			"items[1].bad (line 4): unknown key",
		}},
		{"all errors reported", "b: maybe\ni: x\nzz: 1\nin: {n: y}", []string{
			`b (line 1): invalid boolean "maybe" (want true or false)`,
			`i (line 2): invalid integer "x"`,
			"zz (line 3): unknown key",
			`in.n (line 4): invalid integer "y"`,
		}},
		{"root not a map", "- a", []string{"(line 1): expected a map, got a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			errs := Decode(yamlNode(t, tt.doc), &got)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if !reflect.DeepEqual(msgs, tt.want) {
				t.Errorf("errors:\n got  %q\n want %q", msgs, tt.want)
			}
			if err := errs.Err(); err == nil || err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

func TestDecodeKeepsGoingAndStoresBadEntries(t *testing.T) {
	var c config.Config
	errs := Decode(yamlNode(t, `
http:
  routers:
    bad:
      rule: Host(`+"`a`"+`)
      priority: high
    good:
      rule: Host(`+"`b`"+`)
      service: s
`), &c)
	if len(errs) != 1 || errs[0].Path != "http.routers.bad.priority" || errs[0].Line != 6 {
		t.Fatalf("errors = %v", errs)
	}
	if want := []string{"http", "routers", "bad", "priority"}; !reflect.DeepEqual(errs[0].Keys, want) {
		t.Errorf("Keys = %q, want %q", errs[0].Keys, want)
	}
	if c.HTTP.Routers["bad"] == nil || c.HTTP.Routers["bad"].Rule != "Host(`a`)" {
		t.Errorf("bad router not stored: %+v", c.HTTP.Routers["bad"])
	}
	if r := c.HTTP.Routers["good"]; r == nil || r.Service != "s" {
		t.Errorf("good router = %+v", r)
	}
}

func TestDecodeArguments(t *testing.T) {
	var c config.Config
	tests := []struct {
		name string
		out  any
	}{
		{"nil", nil},
		{"not a pointer", c},
		{"nil pointer", (*config.Config)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Decode(NewMap(0), tt.out)
			if len(errs) != 1 || !strings.Contains(errs[0].Msg, "non-nil pointer") {
				t.Errorf("errors = %v", errs)
			}
		})
	}
	if errs := Decode(nil, &c); errs != nil {
		t.Errorf("nil node: %v", errs)
	}
	if err := Errors(nil).Err(); err != nil {
		t.Errorf("empty Errors.Err() = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Path: "http.routers.web.rulee", Line: 4, Msg: "unknown key"}, "http.routers.web.rulee (line 4): unknown key"},
		{Error{Path: "a.servers[0].url", Msg: "bad"}, "a.servers[0].url: bad"},
		{Error{Line: 2, Msg: "bad"}, "(line 2): bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q", got)
			}
		})
	}
	if got := JoinPath([]string{"a", "b.c", "[0]", "d"}); got != "a.b.c[0].d" {
		t.Errorf("JoinPath = %q", got)
	}
}

type upper string

func (u *upper) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return errEmpty
	}
	*u = upper(strings.ToUpper(string(b)))
	return nil
}

var errEmpty = errors.New("empty")

func TestDecodeTextUnmarshaler(t *testing.T) {
	var out struct {
		One  upper   `json:"one"`
		Ptr  *upper  `json:"ptr"`
		Many []upper `json:"many"`
	}
	errs := Decode(yamlNode(t, "one: abc\nptr: def\nmany: x,y\n"), &out)
	if errs != nil {
		t.Fatal(errs)
	}
	if out.One != "ABC" || out.Ptr == nil || *out.Ptr != "DEF" || !reflect.DeepEqual(out.Many, []upper{"X", "Y"}) {
		t.Errorf("got %+v", out)
	}
	errs = Decode(yamlNode(t, `one: ""`), &out)
	if len(errs) != 1 || errs[0].Error() != "one (line 1): empty" {
		t.Errorf("errors = %v", errs)
	}
}

func TestDecodeMergesIntoExisting(t *testing.T) {
	c := config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{"a": {Rule: "r", Service: "s"}}}}
	if errs := Decode(yamlNode(t, "http: {routers: {a: {service: t}, b: {rule: x}}}"), &c); errs != nil {
		t.Fatal(errs)
	}
	if r := c.HTTP.Routers["a"]; r.Rule != "r" || r.Service != "t" {
		t.Errorf("a = %+v", r)
	}
	if c.HTTP.Routers["b"] == nil {
		t.Error("b missing")
	}
}

func TestDecodeBadOptionalValueStaysUnset(t *testing.T) {
	var got target
	errs := Decode(yamlNode(t, "pb: maybe\npi: x\np: {n: x}\n"), &got)
	if len(errs) != 3 {
		t.Fatalf("errors = %v", errs)
	}
	if got.PB != nil || got.PI != nil {
		t.Errorf("pb = %v, pi = %v, want nil", got.PB, got.PI)
	}
	if got.P == nil {
		t.Error("struct pointer with a bad field was not kept")
	}
}

func TestDecodeHandBuiltTree(t *testing.T) {
	n := NewMap(0)
	n.Set("s", nil)
	n.Set("S", nil)
	n.Set("l", &Node{Kind: List, List: []*Node{nil, NewScalar("x", 0)}})
	var got target
	errs := Decode(n, &got)
	if len(errs) != 1 || errs[0].Path != "S" {
		t.Errorf("errors = %v", errs)
	}
	if !reflect.DeepEqual(got.L, []string{"", "x"}) {
		t.Errorf("l = %q", got.L)
	}
}
