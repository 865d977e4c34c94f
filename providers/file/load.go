package file

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// Result is the configuration read from the files at one moment.
type Result struct {
	// Config is the merged configuration of all files.
	Config *config.Config
	// Problems are files that do not parse, keys that do not decode, and
	// objects defined twice, sorted.
	Problems []config.Problem
	// Origins gives "path:line" for each router, service and middleware.
	Origins map[config.ObjectID]string
	// Files are the files read, sorted.
	Files []string
}

// Load reads the configured file or directory once, for `ferry check` and
// the first update. It fails only when the file or directory itself cannot
// be read; every problem inside the files is in Result.Problems.
func Load(opts Options) (*Result, error) {
	return newLoader(zap.NewNop()).load(opts)
}

// loader reads files and remembers, per file, the last content that
// parsed, so that a file saved with a syntax error keeps serving its
// previous version, and a file emptied for a moment (see empty.go) keeps
// serving it for the empty grace.
type loader struct {
	log   *zap.Logger
	files map[string]*fileState
	grace time.Duration    // Options.EmptyGrace of the current load
	now   func() time.Time // the clock; time.Now but in tests
	// holdUntil is, after a load, when the earliest held empty file is to
	// be applied; zero when none is held.
	holdUntil time.Time
	// last is the result of the last load, made of lastFiles and
	// lastProblems: returned again, the same pointer, while they do not
	// change, so an unchanged load costs no merge and no comparison.
	last         *Result
	lastFiles    []*fileConfig
	lastProblems []config.Problem
	lastDups     bool // an object of last is defined in two files
	// pre holds, during a load, the files parsed ahead by preparse.
	pre map[string]parsed
	// workers is how many files preparse parses at once; 0: GOMAXPROCS.
	workers int
}

type fileState struct {
	data   []byte          // last content read
	good   *fileConfig     // last content that parsed; nil if none yet
	parsed []byte          // the content good was parsed from
	broken *config.Problem // why data does not parse; nil if it does
	blank  bool            // good was parsed from a blank file
	// emptySince is when the file was first seen blank while good held a
	// configuration, which it keeps serving until the grace ends; zero
	// when not holding.
	emptySince time.Time
}

func newLoader(log *zap.Logger) *loader {
	return &loader{log: log, files: map[string]*fileState{}, now: time.Now}
}

// check validates the options.
func (o Options) check() error {
	switch {
	case o.Filename == "" && o.Directory == "":
		return errors.New("file: no filename or directory configured")
	case o.Filename != "" && o.Directory != "":
		return errors.New("file: set a filename or a directory, not both")
	}
	return nil
}

// load reads every configuration file and merges them.
func (l *loader) load(opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	l.grace, l.holdUntil = opts.EmptyGrace, time.Time{}
	paths, err := list(opts)
	if err != nil {
		l.files, l.last = map[string]*fileState{}, nil
		return nil, err
	}
	var (
		files    []*fileConfig
		problems []config.Problem
		read     []string
		seen     = map[string]bool{}
	)
	datas, errs := make([][]byte, len(paths)), make([]error, len(paths))
	for i, path := range paths {
		datas[i], errs[i] = os.ReadFile(path)
	}
	l.preparse(paths, datas, errs)
	defer func() { l.pre = nil }()
	for i, path := range paths {
		data, err := datas[i], errs[i]
		if err != nil {
			if opts.Filename != "" {
				l.files, l.last = map[string]*fileState{}, nil
				return nil, fmt.Errorf("file: read %s: %w", path, err)
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the directory was listed
			}
			// Unreadable for now: keep serving what it last held.
			problems = append(problems, config.Problem{Kind: config.KindSource, Name: path, Message: "cannot read: " + errText(err)})
			if st := l.files[path]; st != nil {
				seen[path] = true
				if st.good != nil {
					files = append(files, st.good)
				}
			}
			continue
		}
		seen[path] = true
		read = append(read, path)
		st := l.update(path, data)
		if st.broken != nil {
			problems = append(problems, *st.broken)
		}
		if st.good != nil {
			files = append(files, st.good)
		}
	}
	for path := range l.files {
		if !seen[path] {
			delete(l.files, path)
		}
	}
	if l.last != nil && slices.Equal(files, l.lastFiles) && slices.Equal(problems, l.lastProblems) &&
		slices.Equal(read, l.last.Files) {
		return l.last, nil
	}
	var res *Result
	if l.last != nil && !l.lastDups {
		res, _ = remerge(l.last, l.lastFiles, files, slices.Clone(problems)) // merge_files.go
	}
	if res == nil {
		res, l.lastDups = merge(files, slices.Clone(problems))
	}
	res.Files = read
	l.last, l.lastFiles, l.lastProblems = res, files, problems
	return res, nil
}

// update parses path's content when it changed since the last read. A
// file that became blank keeps its previous configuration for the empty
// grace (holdEmpty).
func (l *loader) update(path string, data []byte) *fileState {
	st := l.files[path]
	if st != nil && bytes.Equal(st.data, data) {
		return l.settleEmpty(path, st)
	}
	if st == nil {
		st = &fileState{}
		l.files[path] = st
	}
	st.data = data
	if l.holdEmpty(path, st) {
		return l.settleEmpty(path, st)
	}
	return l.parse(path, st)
}

// parsed is the outcome of parsing one file's content.
type parsed struct {
	data []byte
	fc   *fileConfig
	err  error
}

// parseContent parses data, the new content of path whose state is st:
// spliced into the last good parse when it can be (splice.go), else
// parsed whole. It only reads st.
func parseContent(path string, data []byte, st *fileState) parsed {
	var fc *fileConfig
	var err error
	if st != nil && st.good != nil && st.good.layout != nil {
		fc, _ = splice(path, st.parsed, data, st.good)
	}
	if fc == nil {
		fc, err = parseFile(path, data)
	}
	return parsed{data: data, fc: fc, err: err}
}

// preparse parses the changed files of a load on up to GOMAXPROCS
// goroutines, for parse to take, when there are several: a directory of
// many new or changed files is then read in a fraction of the time.
func (l *loader) preparse(paths []string, datas [][]byte, errs []error) {
	var todo []int
	for i, path := range paths {
		if errs[i] != nil || isBlank(datas[i]) { // blank files may be held (empty.go), and cost nothing
			continue
		}
		if st := l.files[path]; st == nil || !bytes.Equal(st.data, datas[i]) {
			todo = append(todo, i)
		}
	}
	workers := l.workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if len(todo) < 2 || workers < 2 {
		return
	}
	states := make([]*fileState, len(todo))
	for j, i := range todo {
		states[j] = l.files[paths[i]]
	}
	results := make([]parsed, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Go(func() {
			for j := int(next.Add(1)) - 1; j < len(todo); j = int(next.Add(1)) - 1 {
				results[j] = parseContent(paths[todo[j]], datas[todo[j]], states[j])
			}
		})
	}
	wg.Wait()
	l.pre = make(map[string]parsed, len(todo))
	for j, i := range todo {
		l.pre[paths[i]] = results[j]
	}
}

// parse parses st.data, keeping the last good content when it does not parse.
func (l *loader) parse(path string, st *fileState) *fileState {
	data := st.data
	res, ok := l.pre[path]
	if !ok || !bytes.Equal(res.data, data) {
		res = parseContent(path, data, st)
	}
	fc, err := res.fc, res.err
	if err != nil {
		p := syntaxProblem(path, err)
		st.broken = &p
		fields := []zap.Field{zap.String("file", path), zap.String("error", p.Message)}
		var se *decode.SyntaxError
		if errors.As(err, &se) && se.Line > 0 {
			fields = append(fields, zap.Int("line", se.Line))
		}
		if st.good != nil {
			fields = append(fields, zap.Bool("keepingPrevious", true))
		}
		l.log.Error("file does not parse", fields...)
		return st
	}
	st.good, st.parsed, st.broken, st.blank = fc, data, nil, isBlank(data)
	for _, p := range fc.problems {
		l.log.Warn("configuration problem", zap.String("file", path), zap.String("problem", p.Error()))
	}
	return st
}

// list returns the files to read, sorted.
func list(opts Options) ([]string, error) {
	if opts.Filename != "" {
		return []string{opts.Filename}, nil
	}
	entries, err := os.ReadDir(opts.Directory)
	if err != nil {
		return nil, fmt.Errorf("file: read directory %s: %w", opts.Directory, err)
	}
	var paths []string
	for _, e := range entries {
		if !isConfigName(e.Name()) {
			continue
		}
		path := filepath.Join(opts.Directory, e.Name())
		// Follow symbolic links (Kubernetes mounts files that way).
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths, nil
}

// isConfigName reports whether a file in a watched directory is read:
// .yaml, .yml and .toml files that are not hidden or editor files.
func isConfigName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".toml":
		return true
	}
	return false
}

// errText is an I/O error without the path, which the problem names.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
