package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
)

// Verdict says what Ferry does with a key of a Traefik static configuration.
type Verdict int

// Verdicts, from the mildest.
const (
	// Same: Ferry reads the key with Traefik's meaning.
	Same Verdict = iota
	// Differs: Ferry reads the key (or its absence) with another meaning or
	// default; the note says how.
	Differs
	// Drop: Ferry has no such key, and nothing Traefik served or exported
	// is lost without it; Ferry refuses unknown keys, so remove it.
	Drop
	// Unsupported: Ferry has no such key, and what it does in Traefik is
	// not done.
	Unsupported
)

// String returns the verdict's name as printed.
func (v Verdict) String() string {
	switch v {
	case Same:
		return "same"
	case Differs:
		return "differs"
	case Drop:
		return "drop"
	case Unsupported:
		return "unsupported"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Finding is one key of a Traefik static configuration that Ferry reads
// differently, or not at all.
type Finding struct {
	// Path is the key path as written, e.g. entryPoints.web.http.middlewares.
	Path string
	// Line is the key's line in the file, 0 when unknown.
	Line int
	// Verdict is what Ferry does with the key.
	Verdict Verdict
	// Note says what differs and what to do.
	Note string
}

// TraefikReport compares a Traefik static configuration with Ferry's
// reading of it.
type TraefikReport struct {
	// Findings are the keys that differ, in document order.
	Findings []Finding
	// Same counts the values Ferry reads as Traefik does.
	Same int
	// Static is Ferry's reading of the file without the keys it lacks.
	Static *Static
	// Problems are Ferry's objections to Static: values it refuses and
	// settings it requires, as the static configuration checks word them.
	Problems []string
	// DockerExposedByDefault is providers.docker.exposedByDefault as
	// Traefik reads it (true unless set to false), for checking labels.
	DockerExposedByDefault bool
}

// Failed reports whether something Traefik serves or exports would not
// be under Ferry: an unsupported key or a value Ferry refuses. Keys to
// drop and differences of defaults do not count.
func (r *TraefikReport) Failed() bool {
	if len(r.Problems) > 0 {
		return true
	}
	for _, f := range r.Findings {
		if f.Verdict == Unsupported {
			return true
		}
	}
	return false
}

// CompareTraefik reads a Traefik v3 static configuration file (YAML, or
// TOML when its name ends in .toml) and says, key by key, what Ferry does
// differently. Keys are judged against Ferry's schema by reflection, so a
// key Ferry gains is read as the same from then on; traefikDifferences
// names what is known to differ. Relative paths are resolved as Ferry
// resolves them, against the file's directory.
func CompareTraefik(path string) (*TraefikReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ferry: read Traefik configuration: %w", err)
	}
	var root *decode.Node
	if strings.HasSuffix(strings.ToLower(path), ".toml") {
		root, err = decode.ParseTOML(data)
	} else {
		root, err = decode.ParseYAML(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rep := &TraefikReport{DockerExposedByDefault: true}
	if v := root.Get("providers").Get("docker").Get("exposedByDefault"); v != nil && v.Kind == decode.Scalar {
		rep.DockerExposedByDefault = !strings.EqualFold(strings.TrimSpace(v.Value), "false")
	}
	c := comparer{rep: rep}
	c.walk(root, staticType(), nil)
	rep.Static, rep.Problems = parseNode(root, path, filepath.Dir(path))
	return rep, nil
}

// comparer walks a Traefik tree along Ferry's schema.
type comparer struct{ rep *TraefikReport }

func (c *comparer) add(path []string, line int, v Verdict, note string) {
	c.rep.Findings = append(c.rep.Findings, Finding{Path: decode.JoinPath(path), Line: line, Verdict: v, Note: note})
}

// walk compares n, of the schema type t at path, and removes from it the
// keys Ferry lacks.
func (c *comparer) walk(n *decode.Node, t reflect.Type, path []string) {
	switch n.Kind {
	case decode.Scalar:
		if isStruct(t) { // providers.docker: {} or a bare true: a section of defaults
			c.absent(decode.NewMap(n.Line), path)
		}
		if d := lookupDifference(path, false); d != nil && d.verdict == Differs && (d.when == nil || d.when(n.Value)) {
			c.add(path, n.Line, Differs, d.note)
			return
		}
		c.rep.Same++
	case decode.List:
		elem, _ := step(t, "0")
		for i, item := range n.List {
			c.walk(item, elem, append(path[:len(path):len(path)], fmt.Sprintf("[%d]", i)))
		}
	case decode.Map:
		if len(path) > 0 {
			if d := lookupDifference(path, false); d != nil && d.verdict == Differs && d.when == nil {
				c.add(path, n.Line, Differs, d.note)
			}
		}
		if isStruct(t) {
			c.absent(n, path)
		}
		for _, k := range append([]string(nil), n.Keys...) {
			child := n.Map[k]
			p := append(path[:len(path):len(path)], k)
			ft, ok := step(t, k)
			if !ok {
				c.unknown(child, p)
				n.Remove(k)
				continue
			}
			if child != nil {
				c.walk(child, ft, p)
			}
		}
	}
}

// absent reports the rules about keys missing under the section n at path.
func (c *comparer) absent(n *decode.Node, path []string) {
	for _, d := range traefikDifferences() {
		segs := strings.Split(d.path, ".")
		if !d.absent || !pathMatches(strings.Join(segs[:len(segs)-1], "."), path) {
			continue
		}
		if n.Get(segs[len(segs)-1]) == nil {
			c.add(append(path[:len(path):len(path)], segs[len(segs)-1]), n.Line, d.verdict, d.note+" (not set)")
		}
	}
}

// unknown reports a key Ferry lacks, and the keys under it that the table
// has a rule of their own for.
func (c *comparer) unknown(n *decode.Node, path []string) {
	v, note := Unsupported, "Ferry has no such key"
	if d := lookupDifference(path, false); d != nil && d.verdict != Differs {
		v, note = d.verdict, d.note
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	c.add(path, line, v, note)
	c.ruledBelow(n, path)
}

// ruledBelow reports the keys under n that have a rule of their own.
func (c *comparer) ruledBelow(n *decode.Node, path []string) {
	if n == nil || n.Kind != decode.Map {
		return
	}
	for _, k := range n.Keys {
		p := append(path[:len(path):len(path)], k)
		if d := lookupDifference(p, false); d != nil && d.verdict != Differs && n.Map[k] != nil {
			c.add(p, n.Map[k].Line, d.verdict, d.note)
		}
		c.ruledBelow(n.Map[k], p)
	}
}
