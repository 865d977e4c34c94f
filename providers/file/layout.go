package file

import (
	"bytes"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// layout is where a parsed file's routers, services and middlewares are,
// for splicing changes into it.
type layout struct {
	http     string    // the http key as written
	sections [3]string // the keys of the spliced sections as written; "" when absent
	indent   [3]int    // the column of each section's entry keys
	spans    []span    // every entry of those sections, in document order
	// errs are the decode errors of the entries, by object.
	errs map[config.ObjectID][]*decode.Error
}

// span is one entry of a spliced section: lines [start, end), 1-based;
// start is the line of its key.
type span struct {
	sec        int
	name       string
	start, end int
}

// layoutOf returns the layout of a plain YAML document whose tree is n
// and decode errors errs, or nil when changes cannot be spliced into it:
// an error outside the entries, or entries not in block style.
func layoutOf(n *decode.Node, data []byte, errs decode.Errors) *layout {
	lay := &layout{errs: map[config.ObjectID][]*decode.Error{}}
	lines := lineStarts(data)
	// bounds are the lines of the keys at the top two levels: an entry
	// ends at the next one.
	var bounds []int
	for _, k := range n.Keys {
		top := n.Map[k]
		bounds = append(bounds, top.Line)
		if top.Kind == decode.Map {
			for _, k2 := range top.Keys {
				bounds = append(bounds, top.Map[k2].Line)
			}
		}
	}
	if h := n.Get("http"); h != nil && h.Kind == decode.Map {
		for _, k := range n.Keys {
			if n.Map[k] == h {
				lay.http = k
			}
		}
		for i, s := range spliced {
			for _, k := range h.Keys {
				if strings.EqualFold(k, s.key) {
					if lay.sections[i] != "" {
						return nil // written twice: routers and Routers
					}
					lay.sections[i] = k
				}
			}
			sec := h.Map[lay.sections[i]]
			if sec == nil || sec.Kind != decode.Map {
				lay.sections[i] = "" // absent, or null: nothing to splice into
				continue
			}
			lay.indent[i] = -1
			for _, name := range sec.Keys {
				line := sec.Map[name].Line
				ind, ok := keyIndent(data, lines, line)
				if !ok || lay.indent[i] >= 0 && ind != lay.indent[i] {
					return nil
				}
				lay.indent[i] = ind
				lay.spans = append(lay.spans, span{sec: i, name: name, start: line})
				bounds = append(bounds, line)
			}
		}
	}
	slices.Sort(bounds)
	last := len(lines) + 1
	for i := range lay.spans {
		lay.spans[i].end = last
		if k, _ := slices.BinarySearch(bounds, lay.spans[i].start+1); k < len(bounds) {
			lay.spans[i].end = bounds[k]
		}
	}
	slices.SortFunc(lay.spans, func(a, b span) int { return a.start - b.start })
	for _, e := range errs {
		id, ok := lay.objectOf(e)
		if !ok {
			return nil
		}
		lay.errs[id] = append(lay.errs[id], e)
	}
	return lay
}

// objectOf returns the spliced entry a decode error is about.
func (lay *layout) objectOf(e *decode.Error) (config.ObjectID, bool) {
	k := e.Keys
	if len(k) < 3 || k[0] != lay.http {
		return config.ObjectID{}, false
	}
	for i, s := range spliced {
		if lay.sections[i] != "" && k[1] == lay.sections[i] {
			return config.ObjectID{Kind: s.kind, Name: k[2]}, true
		}
	}
	return config.ObjectID{}, false
}

// lineStarts returns the offset of every line of data; line n (1-based)
// starts at [n-1].
func lineStarts(data []byte) []int {
	starts := make([]int, 1, bytes.Count(data, []byte{'\n'})+1)
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineText returns line n (1-based) of data without its newline.
func lineText(data []byte, starts []int, n int) []byte {
	if n < 1 || n > len(starts) {
		return nil
	}
	end := len(data)
	if n < len(starts) {
		end = starts[n] - 1
	}
	return data[starts[n-1]:end]
}

// keyIndent returns the indentation of line n when it starts a block
// mapping key (not a flow collection, a list item or a comment).
func keyIndent(data []byte, starts []int, n int) (int, bool) {
	l := lineText(data, starts, n)
	ind := len(l) - len(bytes.TrimLeft(l, " "))
	if ind == len(l) || strings.IndexByte("{[?-#\t", l[ind]) >= 0 {
		return 0, false
	}
	return ind, true
}
