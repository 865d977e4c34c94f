package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// scaleRoute is one router of a generated dynamic configuration, with a
// service of its own (same name) pointing at backend.
type scaleRoute struct {
	name, host string
	// rule overrides Host(`host`) when set.
	rule string
	// backend is the URL of the router's service.
	backend string
	// middleware, when set, is a headers middleware answering X-Version:
	// middleware that the router uses.
	middleware string
}

// scaleFiles writes routers into the watched file, or spread over the
// files of the watched directory, rewriting only files whose content
// changed (as a user editing one file of many does).
type scaleFiles struct {
	t     *testing.T
	dir   string
	files int               // 1: dyn.yaml alone; n: part-000.yaml … part-(n-1).yaml
	per   int               // routers per file in directory mode
	last  map[string]string // path -> content written
}

func newScaleFiles(t *testing.T, dir string, files, per int) *scaleFiles {
	return &scaleFiles{t: t, dir: dir, files: files, per: per, last: map[string]string{}}
}

// write renders routes and writes the files that changed; a file left
// without routers is removed (directory mode).
func (s *scaleFiles) write(routes []scaleRoute) {
	s.t.Helper()
	want := map[string]string{}
	if s.files == 1 {
		want[filepath.Join(s.dir, "dyn.yaml")] = renderScale(routes)
	} else {
		for k := 0; k < s.files; k++ {
			lo, hi := min(k*s.per, len(routes)), min((k+1)*s.per, len(routes))
			if k == s.files-1 {
				hi = len(routes) // the last file takes routers added beyond files*per
			}
			if lo < hi {
				want[filepath.Join(s.dir, fmt.Sprintf("part-%03d.yaml", k))] = renderScale(routes[lo:hi])
			}
		}
	}
	for path, data := range want {
		if s.last[path] != data {
			writeFileAtomic(s.t, path, data)
			s.last[path] = data
		}
	}
	for path := range s.last {
		if _, ok := want[path]; !ok {
			if err := os.Remove(path); err != nil {
				s.t.Fatal(err)
			}
			delete(s.last, path)
		}
	}
}

// renderScale renders routers, their services and middlewares as YAML.
func renderScale(routes []scaleRoute) string {
	var b strings.Builder
	b.WriteString("http:\n  routers:\n")
	for _, r := range routes {
		rule := r.rule
		if rule == "" {
			rule = "Host(`" + r.host + "`)"
		}
		fmt.Fprintf(&b, "    %s:\n      rule: %q\n      service: %s\n", r.name, rule, r.name)
		if r.middleware != "" {
			fmt.Fprintf(&b, "      middlewares: [%s]\n", r.name)
		}
	}
	b.WriteString("  services:\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "    %s:\n      loadBalancer:\n        servers:\n          - url: %q\n", r.name, r.backend)
	}
	var mws strings.Builder
	for _, r := range routes {
		if r.middleware != "" {
			fmt.Fprintf(&mws, "    %s:\n      headers:\n        customResponseHeaders:\n          X-Version: %q\n", r.name, r.middleware)
		}
	}
	if mws.Len() > 0 {
		b.WriteString("  middlewares:\n")
		b.WriteString(mws.String())
	}
	return b.String()
}

// startScaleFerry starts ferry watching dir (directory mode) or the file
// dyn.yaml in it, with the profiler on its API listener and its log at
// debug level (for the time each stage took).
func startScaleFerry(t *testing.T, directory bool) (*Ferry, string) {
	t.Helper()
	var dynDir string
	f := StartFerry(t, Options{Static: func(f *Ferry) string {
		dynDir = filepath.Dir(f.DynPath)
		source := fmt.Sprintf("filename: %q", f.DynPath)
		if directory {
			source = fmt.Sprintf("directory: %q", dynDir)
		}
		return fmt.Sprintf(`entryPoints:
  web:
    address: %q
providers:
  debounce: 100ms
  maxWait: 1s
  file:
    %s
    watch: true
api:
  insecure: true
  address: %q
  debug: true
log:
  level: debug
  format: json
`, f.Web, source, f.API)
	}})
	if directory {
		// The harness's own file: leave the directory to the test.
		if err := os.Remove(f.DynPath); err != nil {
			t.Fatal(err)
		}
	}
	return f, dynDir
}

// scaleLayouts are the file provider's two ways of being configured.
var scaleLayouts = []struct {
	name      string
	directory bool
}{{"file", false}, {"directory", true}}

// TestReloadIncremental checks, on a few dozen routers in one file and in
// a directory of files, that what one edit touches changes and nothing
// else does: an added router, a changed rule (its old host gone), a
// service moved to another backend, a changed middleware, a bad rule
// disabling its router alone with its reason, and a removed router.
func TestReloadIncremental(t *testing.T) {
	t.Parallel()
	a := StartBackend(t, "a", nil)
	b := StartBackend(t, "b", nil)
	for _, layout := range scaleLayouts {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			f, dir := startScaleFerry(t, layout.directory)
			files := 1
			if layout.directory {
				files = 3
			}
			w := newScaleFiles(t, dir, files, 20)
			routes := make([]scaleRoute, 60)
			for i := range routes {
				routes[i] = scaleRoute{name: fmt.Sprintf("r%d", i), host: fmt.Sprintf("r%d.inc.test", i), backend: a.URL}
			}
			routes[5].middleware = "v1"
			w.write(routes)
			for _, i := range []int{0, 5, 25, 59} {
				f.WaitRoute(routes[i].host, "/", http.StatusOK, "a")
			}
			step := func(what string, edit func(), check func()) {
				t.Helper()
				edit()
				w.write(routes)
				check()
				// Every router the edit did not touch still serves.
				for _, i := range []int{0, 1, 21, 41, 58} {
					if res := f.Get(routes[i].host, "/"); res.Status != http.StatusOK || res.Backend() != "a" {
						t.Fatalf("%s: untouched %s answered %d from %q", what, routes[i].host, res.Status, res.Backend())
					}
				}
			}
			step("add", func() {
				routes = append(routes, scaleRoute{name: "added", host: "added.inc.test", backend: a.URL})
			}, func() { f.WaitRoute("added.inc.test", "/", http.StatusOK, "a") })
			step("change rule", func() { routes[30].host = "r30-v2.inc.test" }, func() {
				f.WaitRoute("r30-v2.inc.test", "/", http.StatusOK, "a")
				f.WaitRoute("r30.inc.test", "/", http.StatusNotFound, "")
			})
			step("change service", func() { routes[31].backend = b.URL }, func() {
				f.WaitRoute(routes[31].host, "/", http.StatusOK, "b")
			})
			step("change middleware", func() { routes[5].middleware = "v2" }, func() {
				waitHeader(f, routes[5].host, "X-Version", "v2")
			})
			step("bad rule", func() { routes[32].rule = "Host(`r32.inc.test`" }, func() {
				f.WaitRoute(routes[32].host, "/", http.StatusNotFound, "")
				_, byName := f.Routers()
				r := byName["r32@file"]
				if r.Status != "disabled" || len(r.Error) == 0 {
					t.Fatalf("bad rule: r32@file is %q with errors %q, want disabled with its reason", r.Status, r.Error)
				}
				if n := byName["r33@file"]; n.Status != "enabled" {
					t.Fatalf("bad rule: neighbour r33@file is %q (%q)", n.Status, n.Error)
				}
			})
			step("fix rule", func() { routes[32].rule = "" }, func() {
				f.WaitRoute(routes[32].host, "/", http.StatusOK, "a")
				if _, byName := f.Routers(); byName["r32@file"].Status != "enabled" {
					t.Fatalf("fixed rule: r32@file is %q (%q)", byName["r32@file"].Status, byName["r32@file"].Error)
				}
			})
			step("remove", func() { routes = slices.Delete(routes, 40, 41) }, func() {
				f.WaitRoute("r40.inc.test", "/", http.StatusNotFound, "")
			})
			if res := f.Get(routes[5].host, "/"); res.Header.Get("X-Version") != "v2" {
				t.Fatalf("middleware answer X-Version %q after other edits, want v2", res.Header.Get("X-Version"))
			}
		})
	}
}

// waitHeader polls host until its answer carries header=value.
func waitHeader(f *Ferry, host, header, value string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		res, err := f.Do(http.MethodGet, host, "/", nil)
		if err == nil && res.Header.Get(header) == value {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: no %s: %s within %s", host, header, value, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scaleTrials is how many times each scale measurement is repeated.
const scaleTrials = 10

// TestReloadScale measures, with 10,000 routers and services in one file
// and in a directory of 100 files, how long after the write (the rename
// into place) a request is answered by the new route's backend: adding one
// router, changing one router's rule, and going from 1 router to 10,000 in
// one write. It logs p50/p95 (run with -v) and, with FERRY_E2E_PROFILE set
// to a directory, writes a CPU profile of Ferry per measurement there. It
// runs when FERRY_E2E_SCALE is set.
func TestReloadScale(t *testing.T) {
	if os.Getenv("FERRY_E2E_SCALE") == "" {
		t.Skip("set FERRY_E2E_SCALE=1 to reload 10,000 routers")
	}
	const n = 10000
	a := StartBackend(t, "a", nil)
	for _, layout := range scaleLayouts {
		t.Run(layout.name, func(t *testing.T) {
			f, dir := startScaleFerry(t, layout.directory)
			files := 1
			if layout.directory {
				files = 100
			}
			w := newScaleFiles(t, dir, files, n/files)
			all := make([]scaleRoute, n)
			for i := range all {
				all[i] = scaleRoute{name: fmt.Sprintf("r%d", i), host: fmt.Sprintf("r%d.scale.test", i), backend: a.URL}
			}
			routes := slices.Clone(all)
			w.write(routes)
			waitServed(t, f, all[n-1].host, 2*time.Minute)

			f.measure(layout.name+" add one router to 10,000", func(i int) (string, func()) {
				name := fmt.Sprintf("added%d", i)
				routes = append(routes, scaleRoute{name: name, host: name + ".scale.test", backend: a.URL})
				return name + ".scale.test", func() { w.write(routes) }
			})
			f.measure(layout.name+" change one rule of 10,000", func(i int) (string, func()) {
				r := &routes[(i*997)%n]
				r.host = fmt.Sprintf("%s-v%d.scale.test", r.name, i)
				return r.host, func() { w.write(routes) }
			})
			f.measure(layout.name+" 1 router to 10,000", func(int) (string, func()) {
				w.write(all[:1])
				waitGone(t, f, all[n-1].host)
				return all[n-1].host, func() { w.write(all) }
			})
		})
	}
}

// measure runs scaleTrials trials: prepare(i) sets up and returns the host
// that will answer once write has taken effect; the time from the start
// of write to the first 200 from that host is recorded. It logs p50, p95
// and max, and the apply times Ferry logged. With FERRY_E2E_PROFILE set,
// more trials follow while a CPU profile of Ferry is taken.
func (f *Ferry) measure(what string, prepare func(i int) (host string, write func())) {
	f.t.Helper()
	mark := f.LogMark()
	var times []time.Duration
	var starts []time.Time
	trial := func(i int) {
		host, write := prepare(i)
		start := time.Now()
		starts = append(starts, start)
		write()
		for {
			res, err := f.Do(http.MethodGet, host, "/", nil)
			if err == nil && res.Status == http.StatusOK {
				break
			}
			if time.Since(start) > time.Minute {
				f.t.Fatalf("%s: trial %d: %s not served within a minute", what, i, host)
			}
			time.Sleep(time.Millisecond)
		}
		times = append(times, time.Since(start))
	}
	for i := range scaleTrials {
		trial(i)
	}
	builds := f.loggedDurations(mark, "configuration applied", "build")
	stages, slowest := f.stages(mark, starts, times)
	if done := f.profile(what); done != nil {
		for i := scaleTrials; ; i++ {
			select {
			case <-done:
			default:
				trial(i)
				continue
			}
			break
		}
		times = times[:scaleTrials]
	}
	slices.Sort(times)
	slices.Sort(builds)
	pct := func(d []time.Duration, p int) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[(len(d)*p+99)/100-1].Round(100 * time.Microsecond)
	}
	f.t.Logf("%s: served after p50 %s, p95 %s, max %s over %d trials; apply (build+swap) p50 %s, p95 %s over %d",
		what, pct(times, 50), pct(times, 95), times[len(times)-1].Round(time.Millisecond), len(times),
		pct(builds, 50), pct(builds, 95), len(builds))
	var parts []string
	for i, name := range stageNames {
		slices.Sort(stages[i])
		parts = append(parts, fmt.Sprintf("%s p50 %s", name, pct(stages[i], 50)))
	}
	f.t.Logf("%s: stages (from the log, ms resolution): %s; slowest trial: %s", what, strings.Join(parts, ", "), slowest)
}

// stageNames name the stages between a write and the first answer of its
// route: the file provider reading and sending the files, the merger's
// debounce and merge, the router's build and swap, then the first answer.
var stageNames = []string{"write→sent", "sent→merged", "merged→applied", "applied→served"}

// stageEvents are the log messages that end the first three stages.
var stageEvents = []string{"configuration sent", "configuration merged", "configuration applied"}

// stages splits each trial (started at starts[i], served took[i] later)
// into stageNames by the first log line of each stage event after the
// previous one, for the trials where all were found, and describes the
// stages of the slowest of them.
func (f *Ferry) stages(mark int, starts []time.Time, took []time.Duration) ([][]time.Duration, string) {
	type event struct {
		at  time.Time
		msg string
	}
	var events []event
	logs := f.Logs()
	if mark > len(logs) {
		return make([][]time.Duration, len(stageNames)), ""
	}
	for _, line := range strings.Split(logs[mark:], "\n") {
		var m struct {
			TS  string `json:"ts"`
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &m) != nil || !slices.Contains(stageEvents, m.Msg) {
			continue
		}
		if at, err := time.Parse("2006-01-02T15:04:05.000Z0700", m.TS); err == nil {
			events = append(events, event{at, m.Msg})
		}
	}
	out := make([][]time.Duration, len(stageNames))
	slowest, worst := "", time.Duration(0)
	for i, start := range starts {
		served := start.Add(took[i])
		at := []time.Time{start}
		for _, msg := range stageEvents {
			prev := at[len(at)-1]
			for _, e := range events {
				// Log times have ms resolution: allow the ms the event fell in.
				if e.msg == msg && !e.at.Before(prev.Truncate(time.Millisecond)) && !e.at.After(served) {
					at = append(at, e.at)
					break
				}
			}
		}
		if len(at) != len(stageEvents)+1 {
			continue
		}
		at = append(at, served)
		var desc []string
		for k := range stageNames {
			d := max(at[k+1].Sub(at[k]), 0)
			out[k] = append(out[k], d)
			desc = append(desc, fmt.Sprintf("%s %s", stageNames[k], d.Round(time.Millisecond)))
		}
		if took[i] > worst {
			slowest, worst = strings.Join(desc, ", "), took[i]
		}
	}
	return out, slowest
}

// loggedDurations returns the duration field of the log lines after mark
// whose msg is msg.
func (f *Ferry) loggedDurations(mark int, msg, field string) []time.Duration {
	logs := f.Logs()
	if mark > len(logs) {
		return nil
	}
	var out []time.Duration
	for _, line := range strings.Split(logs[mark:], "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != msg {
			continue
		}
		if s, ok := m[field].(string); ok {
			if d, err := time.ParseDuration(s); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// profile starts a 10 s CPU profile of Ferry when FERRY_E2E_PROFILE names
// a directory, and returns a channel closed once <what>.pprof is written
// there; nil when not profiling.
func (f *Ferry) profile(what string) <-chan struct{} {
	dir := os.Getenv("FERRY_E2E_PROFILE")
	if dir == "" {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + f.API + "/debug/pprof/profile?seconds=10")
		if err != nil {
			f.t.Logf("profile %s: %v", what, err)
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		name := filepath.Join(dir, strings.NewReplacer(" ", "-", ",", "").Replace(what)+".pprof")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			f.t.Logf("profile %s: %v", what, err)
		}
	}()
	return done
}

// waitServed waits up to d until host answers 200.
func waitServed(t *testing.T, f *Ferry, host string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if res, err := f.Do(http.MethodGet, host, "/", nil); err == nil && res.Status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not served within %s", host, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits until host answers 404.
func waitGone(t *testing.T, f *Ferry, host string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if res, err := f.Do(http.MethodGet, host, "/", nil); err == nil && res.Status == http.StatusNotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still served a minute after its removal", host)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
