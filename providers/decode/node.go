// Package decode turns configuration documents into Go structs. YAML and
// TOML files, Docker labels, Consul tags and etcd keys are first parsed into
// one generic tree (Node), which Decode then walks into a struct, matching
// field names case-insensitively and reporting every problem with its key
// path and line.
package decode

import (
	"fmt"
	"strings"
)

// Kind is the sort of a Node.
type Kind int

// Node kinds.
const (
	// Map is a set of keyed entries, in document order.
	Map Kind = iota
	// List is an ordered sequence of nodes.
	List
	// Scalar is a single value, kept as text.
	Scalar
)

// String returns the kind's name as used in error messages.
func (k Kind) String() string {
	switch k {
	case Map:
		return "map"
	case List:
		return "list"
	case Scalar:
		return "value"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Node is one node of a configuration tree.
type Node struct {
	// Kind says which of the fields below are used.
	Kind Kind
	// Keys are a Map's keys in document order.
	Keys []string
	// Map holds a Map's entries by key as written.
	Map map[string]*Node
	// List holds a List's elements.
	List []*Node
	// Value is a Scalar's text; YAML and TOML scalars become their text.
	Value string
	// Null marks a null scalar (YAML ~ or an empty value); Value is then "".
	Null bool
	// Line is the 1-based source line: for a map entry the line of its
	// key, otherwise where the node starts; 0 when unknown (labels).
	Line int
}

// NewMap returns an empty Map node.
func NewMap(line int) *Node {
	return &Node{Kind: Map, Map: map[string]*Node{}, Line: line}
}

// NewScalar returns a Scalar node holding value.
func NewScalar(value string, line int) *Node {
	return &Node{Kind: Scalar, Value: value, Line: line}
}

// Set adds or replaces the entry key of a Map node, keeping document order.
func (n *Node) Set(key string, child *Node) {
	if n.Map == nil {
		n.Map = map[string]*Node{}
	}
	if _, ok := n.Map[key]; !ok {
		n.Keys = append(n.Keys, key)
	}
	n.Map[key] = child
}

// Get returns the entry of a Map node whose key equals key
// case-insensitively (an exact match first), or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	if c, ok := n.Map[key]; ok {
		return c
	}
	for _, k := range n.Keys {
		if strings.EqualFold(k, key) {
			return n.Map[k]
		}
	}
	return nil
}

// Remove deletes every entry of a Map node whose key equals key
// case-insensitively and returns the first one removed, or nil. Providers use
// it to take their own keys (enable, network) off a label tree before Decode.
func (n *Node) Remove(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	var first *Node
	keys := n.Keys[:0]
	for _, k := range n.Keys {
		if strings.EqualFold(k, key) {
			if first == nil {
				first = n.Map[k]
			}
			delete(n.Map, k)
			continue
		}
		keys = append(keys, k)
	}
	n.Keys = keys
	return first
}
