package decode

import (
	"strconv"
	"strings"
)

// tomlIndex is the path segment of list element i in tomlLines' keys.
func tomlIndex(i int) string { return "\x01" + strconv.Itoa(i) }

// tomlLines scans a TOML document that has already parsed and returns the
// line of each table header and key, by key path joined with "\x00" (array
// of tables elements as tomlIndex segments). It is best effort: keys inside
// inline tables and arrays are not recorded.
func tomlLines(data []byte) map[string]int {
	sc := &tomlScanner{s: data, line: 1, lines: map[string]int{}, counts: map[string]int{}}
	sc.run()
	return sc.lines
}

type tomlScanner struct {
	s      []byte
	i      int
	line   int
	lines  map[string]int
	counts map[string]int // array of tables path -> elements so far
	table  []string       // current table, resolved
}

func (sc *tomlScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *tomlScanner) run() {
	for {
		sc.skipBlank()
		if sc.eof() {
			return
		}
		line := sc.line
		if sc.s[sc.i] == '[' {
			sc.header(line)
			continue
		}
		key := sc.key()
		sc.skipSpace()
		if key == nil || sc.eof() || sc.s[sc.i] != '=' {
			sc.skipLine()
			continue
		}
		sc.i++
		full := append(sc.table[:len(sc.table):len(sc.table)], key...)
		for j := len(sc.table) + 1; j <= len(full); j++ {
			sc.record(full[:j], line)
		}
		sc.skipValue()
	}
}

// header reads [table] or [[array]] and makes it the current table.
func (sc *tomlScanner) header(line int) {
	arr := sc.i+1 < len(sc.s) && sc.s[sc.i+1] == '['
	if arr {
		sc.i += 2
	} else {
		sc.i++
	}
	key := sc.key()
	sc.skipLine()
	if key == nil {
		return
	}
	var resolved []string
	for j, k := range key {
		resolved = append(resolved, k)
		last := j == len(key)-1
		p := strings.Join(resolved, "\x00")
		sc.record(resolved, line)
		if last && arr {
			n := sc.counts[p]
			sc.counts[p] = n + 1
			resolved = append(resolved, tomlIndex(n))
			sc.record(resolved, line)
		} else if n := sc.counts[p]; n > 0 {
			resolved = append(resolved, tomlIndex(n-1))
		}
	}
	sc.table = resolved
}

func (sc *tomlScanner) record(path []string, line int) {
	p := strings.Join(path, "\x00")
	if _, ok := sc.lines[p]; !ok {
		sc.lines[p] = line
	}
}

// key reads a dotted key of bare, "basic" and 'literal' parts.
func (sc *tomlScanner) key() []string {
	var parts []string
	for {
		sc.skipSpace()
		if sc.eof() {
			return nil
		}
		switch c := sc.s[sc.i]; {
		case c == '"' || c == '\'':
			start := sc.i
			sc.skipString()
			raw := string(sc.s[start:sc.i])
			if c == '\'' {
				parts = append(parts, strings.Trim(raw, "'"))
			} else if u, err := strconv.Unquote(raw); err == nil {
				parts = append(parts, u)
			} else {
				parts = append(parts, strings.Trim(raw, `"`))
			}
		case isBareKey(c):
			start := sc.i
			for !sc.eof() && isBareKey(sc.s[sc.i]) {
				sc.i++
			}
			parts = append(parts, string(sc.s[start:sc.i]))
		default:
			return nil
		}
		sc.skipSpace()
		if sc.eof() || sc.s[sc.i] != '.' {
			return parts
		}
		sc.i++
	}
}

func isBareKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// skipValue skips a value, including multi-line arrays, inline tables and
// strings, up to and including the end of its line.
func (sc *tomlScanner) skipValue() {
	depth := 0
	for !sc.eof() {
		switch c := sc.s[sc.i]; c {
		case '"', '\'':
			sc.skipString()
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '#':
			for !sc.eof() && sc.s[sc.i] != '\n' {
				sc.i++
			}
			continue
		case '\n':
			sc.i++
			sc.line++
			if depth <= 0 {
				return
			}
			continue
		}
		sc.i++
	}
}

// skipString skips a basic, literal or multi-line string starting at sc.i.
func (sc *tomlScanner) skipString() {
	q := sc.s[sc.i]
	multi := sc.i+2 < len(sc.s) && sc.s[sc.i+1] == q && sc.s[sc.i+2] == q
	if multi {
		sc.i += 3
	} else {
		sc.i++
	}
	for !sc.eof() {
		c := sc.s[sc.i]
		switch {
		case c == '\\' && q == '"':
			if sc.i+1 < len(sc.s) && sc.s[sc.i+1] == '\n' {
				sc.line++
			}
			sc.i += 2
			continue
		case c == '\n':
			sc.line++
			if !multi {
				sc.i++
				return
			}
		case c == q && !multi:
			sc.i++
			return
		case c == q && sc.i+2 < len(sc.s) && sc.s[sc.i+1] == q && sc.s[sc.i+2] == q:
			sc.i += 3
			// A multi-line string may end with up to two more quotes.
			for n := 0; n < 2 && !sc.eof() && sc.s[sc.i] == q; n++ {
				sc.i++
			}
			return
		}
		sc.i++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (sc *tomlScanner) skipBlank() {
	for !sc.eof() {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r':
			sc.i++
		case '\n':
			sc.i++
			sc.line++
		case '#':
			for !sc.eof() && sc.s[sc.i] != '\n' {
				sc.i++
			}
		default:
			return
		}
	}
}

func (sc *tomlScanner) skipSpace() {
	for !sc.eof() && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

// skipLine skips to just past the next newline.
func (sc *tomlScanner) skipLine() {
	for !sc.eof() {
		c := sc.s[sc.i]
		sc.i++
		if c == '\n' {
			sc.line++
			return
		}
	}
}
