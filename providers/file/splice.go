package file

import (
	"bytes"
	"maps"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// A large YAML file changed in a few places (a router and its service
// added, a rule edited) is not parsed again as a whole: the lines that
// changed are found by comparing the new content with the last one that
// parsed, the routers, services or middlewares entries they fall in are
// parsed on their own, and spliced into the previous configuration.
// Everything else, objects included, is kept as it was (the same
// pointers), with its lines moved. When anything stands in the way — a
// change outside those sections' entries or in two places of one
// section, anchors or aliases, a problem outside the entries, entries
// whose parse on their own could differ — the file is parsed whole.

// spliced are the sections whose entries a change can be spliced into.
var spliced = [...]struct {
	key  string
	kind config.Kind
}{{"routers", config.KindRouter}, {"services", config.KindService}, {"middlewares", config.KindMiddleware}}

// hunk is one change to a section's entries: old entries spans[i..j]
// (lines [start, end)) are new lines [start+shift, end+shift+delta),
// which parse into root (lines in the new document) and decode into part
// with errs.
type hunk struct {
	i, j         int
	start, end   int
	shift, delta int
	root         *decode.Node
	part         config.Config
	errs         decode.Errors
}

// splice returns the configuration and layout of data, the new content of
// a file whose last good content old parsed into fc; false when the
// change cannot be spliced. A section's entries may change in one place
// each; everything else must be as it was.
func splice(path string, old, data []byte, fc *fileConfig) (*fileConfig, bool) {
	lay := fc.layout
	if lay == nil || len(lay.spans) == 0 {
		return nil, false
	}
	ol, nl := lineStarts(old), lineStarts(data)
	var hunks []*hunk
	op, np := 1, 1 // the next old and new lines to match
	for _, seg := range lay.segments() {
		// The lines before the section's entries are the same.
		n := seg.start - op
		if !sameLines(old, ol, op, data, nl, np, n) {
			return nil, false
		}
		np += n
		// The entries end where the next unchanged lines start: a line
		// less indented than the entries (or the end of the file).
		newEnd := len(nl) + 1
		if seg.end <= len(ol) {
			next := lineText(old, ol, seg.end)
			for newEnd = np; newEnd <= len(nl); newEnd++ {
				l := lineText(data, nl, newEnd)
				if bytes.Equal(l, next) && len(l)-len(bytes.TrimLeft(l, " ")) < lay.indent[seg.sec] {
					break
				}
			}
			if newEnd > len(nl) {
				return nil, false
			}
		}
		if seg.end-seg.start != newEnd-np || !sameLines(old, ol, seg.start, data, nl, np, seg.end-seg.start) {
			h, ok := lay.hunk(old, ol, data, nl, seg, np, newEnd)
			if !ok || !h.parse(lay, fc.cfg, data, nl) {
				return nil, false
			}
			hunks = append(hunks, h)
		}
		op, np = seg.end, newEnd
	}
	if len(ol)-op != len(nl)-np || !sameLines(old, ol, op, data, nl, np, len(ol)-op+1) || len(hunks) == 0 {
		return nil, false
	}
	return fc.spliced(path, lay, hunks), true
}

// segment is the lines [start, end) of a section's entries.
type segment struct{ sec, start, end int }

// segments returns the lines of each section's entries, in document order.
func (lay *layout) segments() []segment {
	var out []segment
	for _, s := range lay.spans {
		if n := len(out); n > 0 && out[n-1].sec == s.sec && out[n-1].end == s.start {
			out[n-1].end = s.end
			continue
		}
		out = append(out, segment{s.sec, s.start, s.end})
	}
	return out
}

// sameLines reports whether the n lines of a from line i equal those of b
// from line j (lines past the end are empty).
func sameLines(a []byte, al []int, i int, b []byte, bl []int, j, n int) bool {
	for k := range n {
		if !bytes.Equal(lineText(a, al, i+k), lineText(b, bl, j+k)) {
			return false
		}
	}
	return true
}

// hunk finds the entries of seg (old lines) that its new lines [from, to)
// change: from the one holding the first changed line (else the line
// before, for lines added after the last entry) to the one holding the
// last.
func (lay *layout) hunk(old []byte, ol []int, data []byte, nl []int, seg segment, from, to int) (*hunk, bool) {
	oldN, newN := seg.end-seg.start, to-from
	pre, suf := 0, 0
	for pre < oldN && pre < newN && bytes.Equal(lineText(old, ol, seg.start+pre), lineText(data, nl, from+pre)) {
		pre++
	}
	for suf < oldN-pre && suf < newN-pre &&
		bytes.Equal(lineText(old, ol, seg.end-1-suf), lineText(data, nl, to-1-suf)) {
		suf++
	}
	lo, hi := seg.start+pre, seg.end-1-suf // old lines changed: [lo, hi]; none when hi < lo
	i := spanAt(lay.spans, lo)
	if i < 0 || lay.spans[i].sec != seg.sec {
		i = spanAt(lay.spans, lo-1)
	}
	if i < 0 || lay.spans[i].sec != seg.sec {
		return nil, false
	}
	j := i
	if hi >= lo {
		if j = spanAt(lay.spans, hi); j < i || lay.spans[j].sec != seg.sec {
			return nil, false
		}
	}
	h := &hunk{i: i, j: j, start: lay.spans[i].start, end: lay.spans[j].end, shift: from - seg.start, delta: newN - oldN}
	if lo < h.start || lo > h.end || hi >= h.end {
		return nil, false
	}
	return h, true
}

// parse parses and decodes the hunk's new lines on their own, and reports
// whether they mean there what they mean in the document: entries of the
// section only, in block style at its indentation, without anchors or
// aliases, none named like an entry of cfg outside the hunk.
func (h *hunk) parse(lay *layout, cfg *config.Config, data []byte, nl []int) bool {
	sec := lay.spans[h.i].sec
	first, last := h.start+h.shift, h.end+h.shift+h.delta // new lines [first, last)
	from, to := nl[first-1], len(data)
	if last <= len(nl) {
		to = nl[last-1]
	}
	region := data[from:to]
	root, plain, err := decode.ParseYAMLPlain(region)
	if err != nil || !plain || root.Kind != decode.Map {
		return false
	}
	// Every line of the region belongs to its entries: block keys at the
	// section's indentation, everything else deeper (comments aside).
	rl := lineStarts(region)
	keyLines := make(map[int]bool, len(root.Keys))
	for _, k := range root.Keys {
		ln := root.Map[k].Line
		if ind, ok := keyIndent(region, rl, ln); !ok || ind != lay.indent[sec] {
			return false
		}
		keyLines[ln] = true
	}
	for n := 1; n <= len(rl); n++ {
		l := lineText(region, rl, n)
		t := bytes.TrimLeft(l, " ")
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if ind := len(l) - len(t); ind < lay.indent[sec] || ind == lay.indent[sec] && !keyLines[n] {
			return false
		}
	}
	gone := h.names(lay)
	for _, k := range root.Keys {
		if hasObject(cfg, sec, k) && !gone[k] {
			return false // defined twice: the whole parse says so
		}
	}
	// Decode the entries in place in the document.
	shiftLines(root, first-1)
	tree := decode.NewMap(0)
	hm := decode.NewMap(0)
	hm.Set(lay.sections[sec], root)
	tree.Set(lay.http, hm)
	h.errs = decode.Decode(tree, &h.part)
	for _, e := range h.errs {
		if id, ok := lay.objectOf(e); !ok || id.Kind != spliced[sec].kind {
			return false
		}
	}
	h.root = root
	return true
}

// names returns the names of the entries the hunk replaces.
func (h *hunk) names(lay *layout) map[string]bool {
	gone := make(map[string]bool, h.j-h.i+1)
	for _, s := range lay.spans[h.i : h.j+1] {
		gone[s.name] = true
	}
	return gone
}

// spliced returns fc with the hunks' entries replacing theirs, and every
// line after a hunk moved by its change in length.
func (fc *fileConfig) spliced(path string, lay *layout, hunks []*hunk) *fileConfig {
	out := &fileConfig{path: path, cfg: new(config.Config), origins: make(map[config.ObjectID]string, len(fc.origins))}
	*out.cfg = *fc.cfg
	nl := &layout{http: lay.http, sections: lay.sections, indent: lay.indent,
		spans: make([]span, 0, len(lay.spans)), errs: map[config.ObjectID][]*decode.Error{}}
	// moved returns where old line n is now.
	moved := func(n int) int {
		d := 0
		for _, h := range hunks {
			if n >= h.end {
				d += h.delta
			}
		}
		return n + d
	}
	gone := map[config.ObjectID]bool{}
	next := 0 // the next old span to copy
	for _, h := range hunks {
		sec := lay.spans[h.i].sec
		kind := spliced[sec].kind
		for _, s := range lay.spans[next:h.i] {
			s.start, s.end = moved(s.start), moved(s.end)
			nl.spans = append(nl.spans, s)
		}
		regionEnd := h.end + h.shift + h.delta
		if k := len(nl.spans) - 1; h.i > 0 && lay.spans[h.i-1].end == h.start && k >= 0 {
			// Lines before the region's first key belong to the entry before.
			nl.spans[k].end = regionEnd
			if len(h.root.Keys) > 0 {
				nl.spans[k].end = h.root.Map[h.root.Keys[0]].Line
			}
		}
		for k, name := range h.root.Keys {
			s := span{sec: sec, name: name, start: h.root.Map[name].Line, end: regionEnd}
			if k+1 < len(h.root.Keys) {
				s.end = h.root.Map[h.root.Keys[k+1]].Line
			}
			nl.spans = append(nl.spans, s)
		}
		next = h.j + 1
		names := h.names(lay)
		for name := range names {
			gone[config.ObjectID{Kind: kind, Name: name}] = true
		}
		replaceSection(out.cfg, &h.part, sec, names)
	}
	for _, s := range lay.spans[next:] {
		s.start, s.end = moved(s.start), moved(s.end)
		nl.spans = append(nl.spans, s)
	}
	// Origins: the hunks' entries anew, the others moved.
	moves := false
	for _, h := range hunks {
		moves = moves || h.delta != 0
	}
	prefix := path + ":"
	for id, o := range fc.origins {
		if gone[id] {
			continue
		}
		if moves {
			o = moveOrigin(o, prefix, moved)
		}
		out.origins[id] = o
	}
	for id, es := range lay.errs {
		if gone[id] {
			continue
		}
		for _, e := range es {
			if m := moved(e.Line); m != e.Line {
				cp := *e
				cp.Line = m
				e = &cp
			}
			nl.errs[id] = append(nl.errs[id], e)
		}
	}
	for _, h := range hunks {
		sec := lay.spans[h.i].sec
		for _, name := range h.root.Keys {
			if hasObject(out.cfg, sec, name) {
				out.origins[config.ObjectID{Kind: spliced[sec].kind, Name: name}] = where(path, h.root.Map[name].Line)
			}
		}
		for _, e := range h.errs {
			id, _ := lay.objectOf(e)
			nl.errs[id] = append(nl.errs[id], e)
		}
	}
	for _, es := range nl.errs {
		for _, e := range es {
			out.problems = append(out.problems, problemFor(path, e))
		}
	}
	out.layout = nl
	// Only the last splice is remembered: fc's own base is let go, so no
	// chain of past versions is kept.
	out.base, out.touched = fc, gone
	fc.base, fc.touched = nil, nil
	out.moved = moves
	for _, h := range hunks {
		kind := spliced[lay.spans[h.i].sec].kind
		for _, name := range h.root.Keys {
			out.touched[config.ObjectID{Kind: kind, Name: name}] = true
		}
	}
	return out
}

// spanAt returns the index of the span holding line n, or -1.
func spanAt(spans []span, n int) int {
	lo, hi := 0, len(spans)
	for lo < hi {
		m := (lo + hi) / 2
		if spans[m].end <= n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(spans) && spans[lo].start <= n && n < spans[lo].end {
		return lo
	}
	return -1
}

// shiftLines adds delta to the line of n and of everything under it.
func shiftLines(n *decode.Node, delta int) {
	if n == nil {
		return
	}
	if n.Line > 0 {
		n.Line += delta
	}
	for _, c := range n.Map {
		shiftLines(c, delta)
	}
	for _, c := range n.List {
		shiftLines(c, delta)
	}
}

// moveOrigin returns origin (path:line, prefix being "path:") with its
// line moved.
func moveOrigin(origin, prefix string, moved func(int) int) string {
	if !strings.HasPrefix(origin, prefix) {
		return origin
	}
	line, err := strconv.Atoi(origin[len(prefix):])
	if err != nil {
		return origin
	}
	if m := moved(line); m != line {
		return prefix + strconv.Itoa(m)
	}
	return origin
}

// hasObject reports whether section sec of c holds an object named name.
func hasObject(c *config.Config, sec int, name string) bool {
	var ok bool
	switch sec {
	case 0:
		_, ok = c.HTTP.Routers[name]
	case 1:
		_, ok = c.HTTP.Services[name]
	default:
		_, ok = c.HTTP.Middlewares[name]
	}
	return ok
}

// replaceSection sets section sec of c to its objects but those named in
// gone, plus part's.
func replaceSection(c, part *config.Config, sec int, gone map[string]bool) {
	switch sec {
	case 0:
		c.HTTP.Routers = replaced(c.HTTP.Routers, part.HTTP.Routers, gone)
	case 1:
		c.HTTP.Services = replaced(c.HTTP.Services, part.HTTP.Services, gone)
	default:
		c.HTTP.Middlewares = replaced(c.HTTP.Middlewares, part.HTTP.Middlewares, gone)
	}
}

// replaced returns a copy of m without the names of gone and with add's.
func replaced[V any](m, add map[string]V, gone map[string]bool) map[string]V {
	out := maps.Clone(m)
	if out == nil {
		out = make(map[string]V, len(add))
	}
	for name := range gone {
		delete(out, name)
	}
	maps.Copy(out, add)
	if len(out) == 0 {
		return nil
	}
	return out
}
