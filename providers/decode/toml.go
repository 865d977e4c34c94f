package decode

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ParseTOML parses a TOML document into a tree. Keys keep document order.
// Lines come from a light scan of the source (the TOML library does not
// export key positions); a key whose line cannot be found takes its
// parent's. A syntax error is a *SyntaxError naming the line.
func ParseTOML(data []byte) (*Node, error) {
	var v map[string]any
	md, err := toml.NewDecoder(strings.NewReader(string(data))).Decode(&v)
	if err != nil {
		se := &SyntaxError{Format: "toml", Msg: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			se.Line, se.Msg = pe.Position.Line, pe.Message
		}
		return nil, se
	}
	b := tomlBuilder{order: map[string]int{}, lines: tomlLines(data)}
	for i, k := range md.Keys() {
		for j := 1; j <= len(k); j++ {
			p := strings.Join(k[:j], "\x00")
			if _, ok := b.order[p]; !ok {
				b.order[p] = i
			}
		}
	}
	return b.build(v, nil, 0), nil
}

type tomlBuilder struct {
	order map[string]int // key path (without list indexes) -> first position
	lines map[string]int // key path (with list indexes) -> line
}

// build converts a decoded TOML value. path holds list indexes as
// tomlIndex(i); the library's key order knows keys without them.
func (b *tomlBuilder) build(v any, path []string, parentLine int) *Node {
	line := b.lines[strings.Join(path, "\x00")]
	if line == 0 {
		line = parentLine
	}
	switch x := v.(type) {
	case map[string]any:
		n := NewMap(line)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		base := b.keyPath(path)
		sort.SliceStable(keys, func(i, j int) bool {
			oi, iok := b.order[strings.Join(append(base, keys[i]), "\x00")]
			oj, jok := b.order[strings.Join(append(base, keys[j]), "\x00")]
			if iok != jok {
				return iok
			}
			if oi != oj {
				return oi < oj
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			n.Set(k, b.build(x[k], append(path[:len(path):len(path)], k), line))
		}
		return n
	case []map[string]any:
		n := &Node{Kind: List, Line: line}
		for i, e := range x {
			n.List = append(n.List, b.build(e, append(path[:len(path):len(path)], tomlIndex(i)), line))
		}
		return n
	case []any:
		n := &Node{Kind: List, Line: line}
		for i, e := range x {
			n.List = append(n.List, b.build(e, append(path[:len(path):len(path)], tomlIndex(i)), line))
		}
		return n
	}
	return NewScalar(tomlScalar(v), line)
}

// keyPath drops list indexes from path.
func (b *tomlBuilder) keyPath(path []string) []string {
	out := make([]string, 0, len(path)+1)
	for _, p := range path {
		if !strings.HasPrefix(p, "\x01") {
			out = append(out, p)
		}
	}
	return out
}

func tomlScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		switch x.Location().String() {
		case "date-local":
			return x.Format("2006-01-02")
		case "time-local":
			return x.Format("15:04:05.999999999")
		case "datetime-local":
			return x.Format("2006-01-02T15:04:05.999999999")
		}
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}
