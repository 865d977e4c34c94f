package file

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestRemerge changes, adds and removes files of a directory at random —
// changes spliced into files as the loader does, so unchanged objects keep
// their pointers and move lines, names defined in two files among them —
// and checks that merging from the last result gives what merging from
// nothing gives.
func TestRemerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	type file struct {
		n       int
		routers []string
		data    []byte
		fc      *fileConfig
	}
	render := func(f *file) []byte {
		var b strings.Builder
		b.WriteString("http:\n  routers:\n")
		for _, r := range f.routers {
			b.WriteString(r)
		}
		fmt.Fprintf(&b, "  services:\n    f%ds:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:1\n", f.n)
		if f.n%3 == 0 {
			fmt.Fprintf(&b, "tcp:\n  routers:\n    f%dt:\n      rule: HostSNI(`*`)\n      service: ts\n", f.n)
		}
		return []byte(b.String())
	}
	router := func(f *file, step int) string {
		name := fmt.Sprintf("f%dr%d", f.n, step)
		if rng.IntN(30) == 0 {
			name = fmt.Sprintf("shared%d", step%2) // defined in another file too, now and then
		}
		extra := ""
		if rng.IntN(5) == 0 {
			extra = "      bogus: 1\n" // a decode problem
		}
		return fmt.Sprintf("    %s:\n      rule: Host(`%d`)\n      service: s\n%s", name, step, extra)
	}
	// load sets f's content, spliced into its last one when it can be.
	load := func(f *file, data []byte) *file {
		nf := &file{n: f.n, routers: f.routers, data: data}
		if f.fc != nil {
			nf.fc, _ = splice(fmt.Sprintf("/d/%02d.yaml", f.n), f.data, data, f.fc)
		}
		if nf.fc == nil {
			var err error
			if nf.fc, err = parseFile(fmt.Sprintf("/d/%02d.yaml", f.n), data); err != nil {
				t.Fatal(err)
			}
		}
		return nf
	}
	var files []*file
	for i := range 6 {
		f := &file{n: i}
		for k := range 3 {
			f.routers = append(f.routers, router(f, k))
		}
		files = append(files, load(f, render(f)))
	}
	fcs := func(fs []*file) []*fileConfig {
		var out []*fileConfig
		for _, f := range fs {
			out = append(out, f.fc)
		}
		return out
	}
	last, dups := merge(fcs(files), nil)
	patched := 0
	for step := range 500 {
		next := append([]*file(nil), files...)
		k := rng.IntN(len(next))
		switch rng.IntN(5) {
		case 0:
			if len(next) > 1 {
				next = append(next[:k], next[k+1:]...) // removed
			}
		case 1:
			f := &file{n: 10 + step}
			f.routers = []string{router(f, step)}
			next = append(next, load(f, render(f))) // added (sorts last)
		default: // a router added at the top (moving every line below), changed or removed
			f := *next[k]
			f.routers = append([]string(nil), f.routers...)
			switch j := rng.IntN(len(f.routers)); rng.IntN(3) {
			case 0:
				f.routers = append([]string{router(&f, 100+step)}, f.routers...)
			case 1:
				f.routers[j] = router(&f, 100+step)
			default:
				if len(f.routers) > 1 {
					f.routers = append(f.routers[:j], f.routers[j+1:]...)
				}
			}
			next[k] = load(next[k], render(&f))
			next[k].routers = f.routers
		}
		want, wantDups := merge(fcs(next), nil)
		if !dups {
			if got, ok := remerge(last, fcs(files), fcs(next), nil); ok {
				patched++
				if !reflect.DeepEqual(got.Config, want.Config) || !reflect.DeepEqual(got.Origins, want.Origins) ||
					!reflect.DeepEqual(got.Problems, want.Problems) {
					t.Fatalf("step %d: remerged\n%+v\n%v\n%v\nwant\n%+v\n%v\n%v", step, got.Config, got.Origins, got.Problems,
						want.Config, want.Origins, want.Problems)
				}
			}
		}
		last, dups, files = want, wantDups, next
	}
	t.Logf("%d of 500 steps remerged", patched)
	if patched < 200 {
		t.Errorf("only %d of 500 steps remerged", patched)
	}
}
