package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is a document that cannot be parsed at all.
type SyntaxError struct {
	// Format is the document's format: yaml or toml.
	Format string
	// Line is the 1-based line of the error, 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error formats the error as "decode: parse yaml: line 3: msg".
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("decode: parse %s: line %d: %s", e.Format, e.Line, e.Msg)
	}
	return fmt.Sprintf("decode: parse %s: %s", e.Format, e.Msg)
}

// Where formats the error without its prefix: "line 3: msg".
func (e *SyntaxError) Where() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// yamlLine finds "line N: " in the YAML library's messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// maxDepth bounds nesting, so hostile documents cannot exhaust the stack.
const maxDepth = 200

// ParseYAML parses a YAML document into a tree. A stream of several
// documents is an error. An empty document yields an empty Map node. Anchors,
// aliases and merge keys (<<) are expanded. A syntax error is a
// *SyntaxError naming the line.
func ParseYAML(data []byte) (*Node, error) {
	n, _, err := ParseYAMLPlain(data)
	return n, err
}

// ParseYAMLPlain is ParseYAML, and reports whether the document is plain:
// without anchors, aliases and merge keys, so that every part of it means
// the same on its own as in the document.
func ParseYAMLPlain(data []byte) (*Node, bool, error) {
	var doc, extra yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, false, yamlSyntaxError(err, data)
	}
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, false, &SyntaxError{Format: "yaml", Line: extra.Line, Msg: "more than one document (---) in the file"}
	case err != io.EOF:
		return nil, false, yamlSyntaxError(err, data)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return NewMap(0), true, nil
	}
	root := doc.Content[0]
	if doc.Kind != yaml.DocumentNode {
		root = &doc
	}
	c := yamlConverter{budget: 10000 + 50*len(data)}
	n, err := c.convert(root, 0)
	if err != nil {
		return nil, false, err
	}
	if n.Kind == Scalar && n.Null {
		return NewMap(n.Line), !c.shared, nil
	}
	return n, !c.shared, nil
}

// yamlAnchor finds the anchor name in the message about an unknown one,
// which carries no line.
var yamlAnchor = regexp.MustCompile(`^unknown anchor '(.+)' referenced$`)

func yamlSyntaxError(err error, data []byte) *SyntaxError {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	se := &SyntaxError{Format: "yaml", Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		se.Line, _ = strconv.Atoi(m[1])
		se.Msg = msg[len(m[0]):]
	} else if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			se.Line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	return se
}

// yamlConverter turns a yaml.Node tree into a Node tree. budget bounds the
// number of nodes made, so that alias expansion cannot explode.
type yamlConverter struct {
	budget int
	// shared is set by an anchor, an alias or a merge key.
	shared bool
}

func (c *yamlConverter) convert(y *yaml.Node, depth int) (*Node, error) {
	c.budget--
	if c.budget < 0 {
		return nil, &SyntaxError{Format: "yaml", Line: y.Line, Msg: "document expands to too many nodes (aliases)"}
	}
	if depth > maxDepth {
		return nil, &SyntaxError{Format: "yaml", Line: y.Line, Msg: "document nested too deeply"}
	}
	if y.Anchor != "" {
		c.shared = true
	}
	switch y.Kind {
	case yaml.AliasNode:
		c.shared = true
		if y.Alias == nil {
			return nil, &SyntaxError{Format: "yaml", Line: y.Line, Msg: "unknown alias"}
		}
		n, err := c.convert(y.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		cp := *n
		cp.Line = y.Line
		return &cp, nil
	case yaml.ScalarNode:
		if y.ShortTag() == "!!null" {
			return &Node{Kind: Scalar, Null: true, Line: y.Line}, nil
		}
		return NewScalar(y.Value, y.Line), nil
	case yaml.SequenceNode:
		n := &Node{Kind: List, Line: y.Line, List: make([]*Node, 0, len(y.Content))}
		for _, item := range y.Content {
			child, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			n.List = append(n.List, child)
		}
		return n, nil
	case yaml.MappingNode:
		return c.mapping(y, depth)
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return NewMap(y.Line), nil
		}
		return c.convert(y.Content[0], depth+1)
	}
	return nil, &SyntaxError{Format: "yaml", Line: y.Line, Msg: fmt.Sprintf("unsupported node kind %d", y.Kind)}
}

// mapping converts a YAML mapping. Keys must be scalars and appear once;
// merge keys (<<) add the entries of the mappings they refer to, unless the
// mapping sets the same key itself.
func (c *yamlConverter) mapping(y *yaml.Node, depth int) (*Node, error) {
	n := NewMap(y.Line)
	explicit := map[string]int{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k := y.Content[i]
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &SyntaxError{Format: "yaml", Line: k.Line, Msg: "mapping key must be a plain value"}
		}
		if prev, ok := explicit[k.Value]; ok {
			return nil, &SyntaxError{Format: "yaml", Line: k.Line,
				Msg: fmt.Sprintf("mapping key %q already defined at line %d", k.Value, prev)}
		}
		explicit[k.Value] = k.Line
	}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if isMergeKey(k) {
			c.shared = true
			if err := c.merge(n, v, explicit, depth); err != nil {
				return nil, err
			}
			continue
		}
		child, err := c.convert(v, depth+1)
		if err != nil {
			return nil, err
		}
		child.Line = k.Line
		n.Set(k.Value, child)
	}
	return n, nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// merge adds the entries of the mapping (or list of mappings) v to n,
// skipping keys that n sets explicitly or that an earlier merge added.
func (c *yamlConverter) merge(n *Node, v *yaml.Node, explicit map[string]int, depth int) error {
	src, err := c.convert(v, depth+1)
	if err != nil {
		return err
	}
	var maps []*Node
	switch src.Kind {
	case Map:
		maps = []*Node{src}
	case List:
		maps = src.List
	}
	if len(maps) == 0 && !(src.Kind == Scalar && src.Null) {
		return &SyntaxError{Format: "yaml", Line: v.Line, Msg: "merge key (<<) needs a mapping or a list of mappings"}
	}
	for _, m := range maps {
		if m.Kind != Map {
			return &SyntaxError{Format: "yaml", Line: v.Line, Msg: "merge key (<<) needs a mapping or a list of mappings"}
		}
		for _, key := range m.Keys {
			if _, ok := explicit[key]; ok {
				continue
			}
			if _, ok := n.Map[key]; ok {
				continue
			}
			n.Set(key, m.Map[key])
		}
	}
	return nil
}
