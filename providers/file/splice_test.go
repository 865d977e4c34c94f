package file

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// spliceDoc is a document of routers, services and middlewares rendered
// from entries, so that edits can be made to them as a user would.
type spliceDoc struct {
	routers, services, middlewares []string // rendered entries, indented
	tail                           string   // after the http section
}

func (d *spliceDoc) render() string {
	var b strings.Builder
	b.WriteString("# generated\nhttp:\n")
	for _, sec := range []struct {
		key     string
		entries []string
	}{{"routers", d.routers}, {"services", d.services}, {"middlewares", d.middlewares}} {
		if len(sec.entries) == 0 {
			continue
		}
		b.WriteString("  " + sec.key + ":\n")
		for _, e := range sec.entries {
			b.WriteString(e)
		}
	}
	b.WriteString(d.tail)
	return b.String()
}

// spliceEntry renders one entry of a section in one of several styles.
func spliceEntry(rng *rand.Rand, sec string, n int) string {
	switch sec {
	case "routers":
		switch rng.IntN(5) {
		case 0:
			return fmt.Sprintf("    r%d:\n      rule: >\n        Host(`r%d.test`) &&\n        PathPrefix(`/x`)\n      service: s%d\n\n", n, n, n%5)
		case 1:
			return fmt.Sprintf("    \"r%d\":\n      rule: \"Host(`r%d.test`)\"\n      service: s%d\n      middlewares: [m%d]\n", n, n, n%5, n%3)
		case 2:
			return fmt.Sprintf("    r%d:\n      rule: Host(`r%d.test`)\n      # a comment\n      service: s%d\n      priority: notanumber\n", n, n, n%5)
		case 3:
			return fmt.Sprintf("    r%d: {rule: \"Host(`r%d.test`)\", service: s%d}\n", n, n, n%5)
		}
		return fmt.Sprintf("    r%d:\n      rule: \"Host(`r%d.test`)\"\n      service: s%d\n      unknownKey: 1\n", n, n, n%5)
	case "services":
		return fmt.Sprintf("    s%d:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:%d\"\n", n, 1000+n)
	}
	return fmt.Sprintf("    m%d:\n      headers:\n        customResponseHeaders:\n          X-N: \"%d\"\n", n, n)
}

// rawLines are lines inserted anywhere, most of which the splice must
// refuse (or get right).
var rawLines = []string{"    bad", "  routers:", "---", "      rule: \"unterminated", "    r5:", "# c", "",
	"      priority: x", "    r9: &anchor {rule: a}", "      service: *anchor", "\tx: 1", "    r1:", "    m0:",
	"    - item", "  extra: 1", "        nested: deep", "    s3:", "      service: s1"}

// spliceSteps is how many edits TestSplice makes.
const spliceSteps = 1000

// TestSplice edits a document at random, entries and raw lines, and
// checks that every change spliced into the previous configuration gives
// what parsing the whole file gives, and that most entry edits splice.
func TestSplice(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 42))
	const path = "/cfg/dyn.yaml"
	doc := &spliceDoc{tail: "tcp:\n  routers:\n    t0:\n      rule: HostSNI(`*`)\n      service: ts\n"}
	for i := range 8 {
		doc.routers = append(doc.routers, spliceEntry(rng, "routers", i))
		doc.services = append(doc.services, spliceEntry(rng, "services", i))
		doc.middlewares = append(doc.middlewares, spliceEntry(rng, "middlewares", i))
	}
	old := []byte(doc.render())
	fc, err := parseFile(path, old)
	if err != nil || fc.layout == nil {
		t.Fatalf("first parse: %v, layout %v", err, fc.layout != nil)
	}
	next := 100
	spliced, entryEdits := 0, 0
	for step := range spliceSteps {
		var data []byte
		raw := rng.IntN(4) == 0
		if raw {
			lines := strings.SplitAfter(string(old), "\n")
			k := rng.IntN(len(lines))
			switch rng.IntN(3) {
			case 0:
				lines = slices.Insert(lines, k, rawLines[rng.IntN(len(rawLines))]+"\n")
			case 1:
				lines = slices.Delete(lines, k, k+1)
			default:
				lines = slices.Insert(lines, k, lines[k])
			}
			data = []byte(strings.Join(lines, ""))
		} else {
			entryEdits++
			secs := []*[]string{&doc.routers, &doc.services, &doc.middlewares}
			names := []string{"routers", "services", "middlewares"}
			// One section's entries, sometimes two sections' (a router and its service).
			for _, s := range rng.Perm(3)[:1+rng.IntN(2)] {
				entries := secs[s]
				switch k := rng.IntN(len(*entries) + 1); {
				case rng.IntN(3) == 0 && len(*entries) > 1 && k < len(*entries):
					*entries = slices.Delete(*entries, k, k+1)
				case k < len(*entries) && rng.IntN(2) == 0:
					(*entries)[k] = spliceEntry(rng, names[s], next)
					next++
				default:
					*entries = slices.Insert(*entries, k, spliceEntry(rng, names[s], next))
					next++
				}
			}
			data = []byte(doc.render())
		}
		got, ok := splice(path, old, data, fc)
		want, err := parseFile(path, data)
		if err != nil {
			if ok {
				t.Fatalf("step %d: spliced a change the whole file does not parse with (%v):\n%s", step, err, data)
			}
			if !raw {
				t.Fatalf("step %d: the generated document does not parse: %v\n%s", step, err, data)
			}
			continue // the loader keeps the last good content
		}
		if ok {
			spliced++
			if !reflect.DeepEqual(got.cfg, want.cfg) {
				t.Fatalf("step %d: spliced configuration differs:\n got %+v\nwant %+v\n%s", step, got.cfg.HTTP, want.cfg.HTTP, data)
			}
			if !reflect.DeepEqual(got.origins, want.origins) {
				t.Fatalf("step %d: spliced origins differ:\n got %v\nwant %v\n%s", step, got.origins, want.origins, data)
			}
			gp, wp := slices.Clone(got.problems), slices.Clone(want.problems)
			config.SortProblems(gp)
			config.SortProblems(wp)
			if !reflect.DeepEqual(gp, wp) {
				t.Fatalf("step %d: spliced problems differ:\n got %v\nwant %v\n%s", step, gp, wp, data)
			}
			if want.layout == nil || !reflect.DeepEqual(got.layout.spans, want.layout.spans) {
				t.Fatalf("step %d: spliced layout differs:\n got %v\nwant %v", step, got.layout.spans, want.layout)
			}
			fc = got
		} else {
			fc = want
		}
		if fc.layout == nil && !raw {
			t.Fatalf("step %d: no layout for a generated document", step)
		}
		old = data
		if fc.layout == nil {
			// A raw edit left something splicing refuses: start again.
			old = []byte(doc.render())
			if fc, err = parseFile(path, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d of %d steps spliced (%d entry edits)", spliced, spliceSteps, entryEdits)
	if spliced < entryEdits/2 {
		t.Errorf("only %d of %d entry edits spliced", spliced, entryEdits)
	}
}
