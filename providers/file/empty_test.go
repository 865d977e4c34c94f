package file

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestIsBlank(t *testing.T) {
	tests := []struct {
		data  string
		blank bool
	}{
		{"", true},
		{" \n\t\n", true},
		{"# emptied\n  # indented comment\n", true},
		{"---\n# doc\n...\n", true},
		{"http: {}\n", false},
		{"# header\nhttp:\n", false},
		{"[http]\n", false},
	}
	for _, tt := range tests {
		if got := isBlank([]byte(tt.data)); got != tt.blank {
			t.Errorf("isBlank(%q) = %v, want %v", tt.data, got, tt.blank)
		}
	}
}

// clock is a settable time for the loader.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// holdingLoader returns a loader with a fake clock that logs to an observer.
func holdingLoader() (*loader, *clock, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	c := &clock{t: time.Unix(1000, 0)}
	l := newLoader(zap.New(core))
	l.now = c.now
	return l, c, logs
}

func mustLoad(t *testing.T, l *loader, opts Options) *Result {
	t.Helper()
	res, err := l.load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLoaderHoldsEmptiedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	opts := Options{Filename: path, EmptyGrace: time.Second}
	l, clk, logs := holdingLoader()
	write(t, path, webYAML)
	mustLoad(t, l, opts)

	// Truncated: the previous routes keep serving, and the loader says
	// when to look again.
	write(t, path, "")
	res := mustLoad(t, l, opts)
	if res.Config.HTTP.Routers["web"] == nil {
		t.Fatal("an emptied file was applied at once")
	}
	if want := clk.t.Add(time.Second); !l.holdUntil.Equal(want) {
		t.Errorf("holdUntil = %v, want %v", l.holdUntil, want)
	}
	if logs.FilterMessageSnippet("file is empty").FilterField(zap.String("file", path)).Len() != 1 {
		t.Errorf("the hold was not logged once with the file: %v", logs.All())
	}

	// Written again within the grace: the new content, never the empty one.
	clk.t = clk.t.Add(300 * time.Millisecond)
	write(t, path, webWithRule("Host(`new.example.com`)"))
	res = mustLoad(t, l, opts)
	if r := res.Config.HTTP.Routers["web"]; r == nil || r.Rule != "Host(`new.example.com`)" {
		t.Fatalf("new content not applied: %+v", res.Config.HTTP.Routers)
	}
	if !l.holdUntil.IsZero() {
		t.Errorf("still holding after content arrived: %v", l.holdUntil)
	}

	// Emptied and left empty (a comment is still empty): held until the
	// grace ends, counted from the first empty read, then applied.
	write(t, path, "")
	mustLoad(t, l, opts)
	clk.t = clk.t.Add(600 * time.Millisecond)
	write(t, path, "# removed\n")
	if res = mustLoad(t, l, opts); res.Config.HTTP.Routers["web"] == nil {
		t.Fatal("applied before the grace ended")
	}
	clk.t = clk.t.Add(400 * time.Millisecond)
	res = mustLoad(t, l, opts)
	if len(res.Config.HTTP.Routers) != 0 || len(res.Problems) != 0 {
		t.Fatalf("empty file not applied after the grace: routers %v, problems %v", res.Config.HTTP.Routers, res.Problems)
	}
	if !l.holdUntil.IsZero() {
		t.Errorf("holdUntil = %v after applying", l.holdUntil)
	}
	if logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("stayed empty").FilterField(zap.String("file", path)).Len() != 1 {
		t.Errorf("applying the empty file was not logged as a warning naming it: %v", logs.All())
	}
	// Empty already: staying empty holds nothing more.
	clk.t = clk.t.Add(time.Hour)
	write(t, path, "")
	if mustLoad(t, l, opts); !l.holdUntil.IsZero() {
		t.Error("an empty file that was already empty is held")
	}
}

func TestLoaderAppliesEmptyAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		first string // content before the file is emptied
		grace time.Duration
	}{
		{"no grace", webYAML, 0},
		{"empty from the start", "", time.Second},
		{"only comments before", "# nothing yet\n", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dyn.yaml")
			opts := Options{Filename: path, EmptyGrace: tt.grace}
			l, _, _ := holdingLoader()
			write(t, path, tt.first)
			mustLoad(t, l, opts)
			write(t, path, "")
			if res := mustLoad(t, l, opts); len(res.Config.HTTP.Routers) != 0 || !l.holdUntil.IsZero() {
				t.Errorf("held: routers %v, holdUntil %v", res.Config.HTTP.Routers, l.holdUntil)
			}
		})
	}
}

func TestLoaderHoldsOneFileOfADirectory(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Directory: dir, EmptyGrace: time.Second}
	l, clk, _ := holdingLoader()
	write(t, filepath.Join(dir, "a.yaml"), webYAML)
	write(t, filepath.Join(dir, "b.yaml"), "http:\n  routers:\n    other:\n      rule: Host(`b`)\n      service: app\n")
	mustLoad(t, l, opts)
	write(t, filepath.Join(dir, "a.yaml"), "")
	write(t, filepath.Join(dir, "b.yaml"), "http:\n  routers:\n    other:\n      rule: Host(`b2`)\n      service: app\n")
	res := mustLoad(t, l, opts)
	if res.Config.HTTP.Routers["web"] == nil || res.Config.HTTP.Routers["other"].Rule != "Host(`b2`)" {
		t.Fatalf("want a.yaml held and b.yaml's change applied: %+v", res.Config.HTTP.Routers)
	}
	clk.t = clk.t.Add(time.Second)
	if res = mustLoad(t, l, opts); res.Config.HTTP.Routers["web"] != nil || res.Config.HTTP.Routers["other"] == nil {
		t.Fatalf("after the grace want only b.yaml's router: %+v", res.Config.HTTP.Routers)
	}
}

// writeInPlace truncates path, leaves it empty for gap, then writes
// content into the same file (no rename).
func writeInPlace(t *testing.T, path, content string, gap time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(gap)
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func TestRunEmptyGrace(t *testing.T) {
	const grace = 400 * time.Millisecond
	path := filepath.Join(t.TempDir(), "dyn.yaml")
	write(t, path, webYAML)
	updates, _ := start(t, nopLogger(), Options{Filename: path, Watch: true, EmptyGrace: grace})
	next(t, updates)

	// Truncated, 150 ms empty (longer than the watch's coalescing), then
	// written: the only update is the new content.
	writeInPlace(t, path, webWithRule("Host(`b`)"), 150*time.Millisecond)
	u := next(t, updates)
	if rule(u, "web") != "Host(`b`)" {
		t.Fatalf("first update after an in-place rewrite has rule %q, want Host(`b`)", rule(u, "web"))
	}
	select {
	case u := <-updates:
		t.Fatalf("unexpected update with routers %v", u.Config.HTTP.Routers)
	case <-time.After(2 * grace):
	}

	// Truncated and left empty: applied once the grace is over.
	start := time.Now()
	write(t, path, "")
	u = next(t, updates)
	if took := time.Since(start); took < grace || len(u.Config.HTTP.Routers) != 0 {
		t.Fatalf("after %s got routers %v; want none, after at least %s", took, u.Config.HTTP.Routers, grace)
	}
}
