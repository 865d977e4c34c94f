package decode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// dump prints a tree compactly with lines: {a@1:x@1 b@2:[y@3]}.
func dump(n *Node) string {
	var b strings.Builder
	var walk func(n *Node)
	walk = func(n *Node) {
		switch n.Kind {
		case Map:
			b.WriteByte('{')
			for i, k := range n.Keys {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(k)
				b.WriteByte(':')
				walk(n.Map[k])
			}
			b.WriteByte('}')
		case List:
			b.WriteByte('[')
			for i, c := range n.List {
				if i > 0 {
					b.WriteByte(' ')
				}
				walk(c)
			}
			b.WriteByte(']')
		case Scalar:
			if n.Null {
				b.WriteString("null")
			} else {
				b.WriteString(n.Value)
			}
		}
		if n.Line > 0 {
			b.WriteString("@")
			b.WriteString(itoa(n.Line))
		}
	}
	walk(n)
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty", "", "{}"},
		{"comment only", "# nothing\n", "{}"},
		{"document marker", "---\na: 1\n...\n", "{a:1@2}@2"},
		{"null document", "~", "{}@1"},
		{"order and lines", "b: 1\na:\n  - x\n  - y\n", "{b:1@1 a:[x@3 y@4]@2}@1"},
		{"nested key lines", "http:\n  routers:\n\n    web:\n      rule: r\n", "{http:{routers:{web:{rule:r@5}@4}@2}@1}@1"},
		{"null and empty", "a: ~\nb:\nc: ''\n", "{a:null@1 b:null@2 c:@3}@1"},
		{"scalars as text", "i: 0x10\nf: 1.50\nb: yes\n", "{i:0x10@1 f:1.50@2 b:yes@3}@1"},
		{"block scalar", "a: |\n  x\n  y\n", "{a:x\ny\n@1}@1"},
		{"anchor and alias", "a: &x [1]\nb: *x\n", "{a:[1@1]@1 b:[1@1]@2}@1"},
		{"merge key", "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "{base:{x:1@1 y:2@1}@1 c:{x:1@1 y:3@4}@2}@1"},
		{"merge list", "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b]}\n", "{a:{x:1@1}@1 b:{y:2@2}@2 c:{x:1@1 y:2@2}@3}@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseYAML([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(n); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		msg  string // substring of Msg
	}{
		// The YAML library names the line where the broken construct starts.
		{"bad indentation", "a:\n  b: 1\n c: 2\n", 2, "did not find expected key"},
		{"unclosed quote", "x: 1\ny: 2\na: 'abc\n\nb: 3\n", 3, "unexpected end of stream"},
		{"tab indentation", "a:\n\tb: 1\n", 2, "cannot start any token"},
		{"duplicate key", "a: 1\nb: 2\na: 3\n", 3, `mapping key "a" already defined at line 1`},
		{"complex key", "? [a]\n: 1\n", 1, "mapping key must be a plain value"},
		{"unknown alias", "a: 1\nb: *nope\n", 2, "unknown anchor"},
		{"merge of a value", "a: {<<: 1}\n", 1, "merge key"},
		{"two documents", "a: 1\n---\nb: 2\n", 2, "more than one document"},
		{"broken second document", "a: 1\n---\nb: [\n", 3, "did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tt.doc))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", se.Line, se.Msg, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "decode: parse yaml: line ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestParseYAMLAliasBomb(t *testing.T) {
	doc := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	_, err := ParseYAML([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "too many nodes") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseYAMLDecodeLines(t *testing.T) {
	doc := `http:
  routers:
    web:
      rule: Host(` + "`a`" + `)
      rulee: typo
  services:
    web:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
          - url: http://127.0.0.1:2
            weigth: 2
`
	var c struct {
		HTTP struct {
			Routers  map[string]*struct{ Rule string } `json:"routers"`
			Services map[string]*struct {
				LoadBalancer struct {
					Servers []struct {
						URL    string `json:"url"`
						Weight int    `json:"weight"`
					} `json:"servers"`
				} `json:"loadBalancer"`
			} `json:"services"`
		} `json:"http"`
	}
	errs := Decode(yamlNode(t, doc), &c)
	want := []string{
		"http.routers.web.rulee (line 5): unknown key",
		"http.services.web.loadBalancer.servers[1].weigth (line 12): unknown key",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
