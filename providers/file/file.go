// Package file is the file provider: dynamic configuration from one YAML
// or TOML file or a directory of them, re-read when they change.
//
// Each file decodes on its own, then the files are merged in name order. A
// file that stops parsing keeps serving its last good content; a problem in
// one object disables that object only.
package file

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router/config"
)

// Options says what the provider reads.
type Options struct {
	// Filename is one configuration file (.yaml, .yml or .toml).
	Filename string `json:"filename,omitempty"`
	// Directory holds configuration files: every .yaml, .yml and .toml file
	// directly in it, except hidden and editor files. Set it or Filename.
	Directory string `json:"directory,omitempty"`
	// Watch re-reads the files when they change.
	Watch bool `json:"watch,omitempty"`
	// EmptyGrace is how long a watched file that becomes empty (no bytes,
	// or only white space and comments) keeps serving its previous
	// configuration before the empty one is applied; content written
	// within it replaces the previous configuration directly. Zero applies
	// an empty file at once. The static configuration's default is 1s.
	EmptyGrace time.Duration `json:"emptyGrace,omitempty"`
}

// Timings of the watch loop.
const (
	// coalesce gathers a burst of file system events (a rename, a
	// truncate and write) into one re-read. It is short: the merger's
	// debounce gathers longer bursts, and every millisecond here is one
	// more before a change is served.
	coalesce = 5 * time.Millisecond
	// rewatch is how often a watch on a missing directory is retried.
	rewatch = time.Second
)

// Provider is the file provider.
type Provider struct {
	log  *zap.Logger
	opts Options
}

var _ providers.Provider = (*Provider)(nil)

// New returns a file provider that logs to log.
func New(log *zap.Logger, opts Options) *Provider {
	return &Provider{log: log, opts: opts}
}

// Name returns "file".
func (p *Provider) Name() string { return "file" }

// Run sends the files' configuration at start and, when Watch is set,
// again after each change, until ctx ends. An update made of the same
// objects, problems and origins as the last one sent is not sent (a file
// saved unchanged, a file added that defines nothing); one that merely
// equals it (a file parsed again into equal objects) may be, and the
// merger drops it. Run fails only when the options are invalid or no
// watcher can be made; a missing file or directory is reported as a
// problem and watched for.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Update) error {
	if err := p.opts.check(); err != nil {
		return err
	}
	r := &run{p: p, loader: newLoader(p.log), out: out}
	if !p.opts.Watch {
		if r.send(ctx) {
			<-ctx.Done()
		}
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file: watch: %w", err)
	}
	defer w.Close()
	r.w = w
	r.dir = filepath.Clean(p.opts.Directory)
	if p.opts.Filename != "" {
		r.dir = filepath.Dir(filepath.Clean(p.opts.Filename))
		r.base = filepath.Base(p.opts.Filename)
	}
	r.watch() // before the first read, so no change in between is missed
	if !r.send(ctx) {
		return nil
	}
	return r.loop(ctx)
}

// run is the state of one Run call.
type run struct {
	p       *Provider
	loader  *loader
	out     chan<- providers.Update
	w       *fsnotify.Watcher
	dir     string // watched directory
	base    string // file name when watching one file
	watched bool
	last    *providers.Update
	lastRes *Result // what last was made from; nil when it reported an error
	lastErr string  // last error reading the file or directory, logged once
}

func (r *run) loop(ctx context.Context) error {
	coalesceTimer := time.NewTimer(time.Hour)
	coalesceTimer.Stop()
	// graceTimer fires when a file held empty is to be applied.
	graceTimer := time.NewTimer(time.Hour)
	graceTimer.Stop()
	armed := false
	refresh := func() bool {
		if !r.send(ctx) {
			return false
		}
		if until := r.loader.holdUntil; !until.IsZero() {
			graceTimer.Reset(time.Until(until))
		}
		return true
	}
	retry := time.NewTicker(rewatch)
	defer retry.Stop()
	arm := func() {
		if !armed {
			armed = true
			coalesceTimer.Reset(coalesce)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-r.w.Events:
			if !ok {
				return nil
			}
			if r.relevant(ev) {
				arm()
			}
		case err, ok := <-r.w.Errors:
			if !ok {
				return nil
			}
			// An overflow loses events: re-read to be sure.
			r.p.log.Warn("watch error", zap.String("directory", r.dir), zap.Error(err))
			arm()
		case <-coalesceTimer.C:
			armed = false
			if !refresh() {
				return nil
			}
		case <-graceTimer.C:
			if !refresh() {
				return nil
			}
		case <-retry.C:
			if !r.watched && r.watch() {
				arm()
			}
		}
	}
}

// watch starts watching the directory; false if it cannot (yet).
func (r *run) watch() bool {
	if err := r.w.Add(r.dir); err != nil {
		return false
	}
	r.watched = true
	return true
}

// relevant reports whether ev may change what is read. Events for the
// directory itself mean the watch is gone and must be re-established.
func (r *run) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if name == r.dir {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			_ = r.w.Remove(r.dir)
			r.watched = false
			return true
		}
		return false
	}
	if ev.Op == fsnotify.Chmod || filepath.Dir(name) != r.dir {
		return false
	}
	b := filepath.Base(name)
	// "..data" and its kin are Kubernetes' atomic swaps of mounted files.
	if strings.HasPrefix(b, "..") {
		return true
	}
	if r.base != "" {
		return b == r.base
	}
	return isConfigName(b)
}

// send reads the files and sends the result unless it equals the last one
// sent. It returns false when ctx ended first.
func (r *run) send(ctx context.Context) bool {
	u, res := r.read()
	if r.last != nil && (res != nil && r.lastRes != nil && sameResult(res, r.lastRes) ||
		res == nil && r.lastRes == nil && reflect.DeepEqual(*r.last, u)) {
		return true
	}
	select {
	case r.out <- u:
		r.last, r.lastRes = &u, res
		r.p.log.Debug("configuration sent",
			zap.Int("routers", len(u.Config.HTTP.Routers)),
			zap.Int("services", len(u.Config.HTTP.Services)),
			zap.Int("middlewares", len(u.Config.HTTP.Middlewares)),
			zap.Int("problems", len(u.Problems)))
		return true
	case <-ctx.Done():
		return false
	}
}

// read loads the files into an update, and returns the result it is made
// of. When the file or directory cannot be read, the update is empty, with
// a problem saying why, and the result is nil.
func (r *run) read() (providers.Update, *Result) {
	u := providers.Update{Provider: r.p.Name()}
	res, err := r.loader.load(r.p.opts)
	if err != nil {
		if msg := err.Error(); msg != r.lastErr {
			r.lastErr = msg
			r.p.log.Error("cannot read configuration", zap.Error(err))
		}
		source := r.p.opts.Filename
		if source == "" {
			source = r.p.opts.Directory
		}
		u.Config = &config.Config{}
		u.Problems = []config.Problem{{Kind: config.KindSource, Name: source, Message: errText(err)}}
		return u, nil
	}
	r.lastErr = ""
	u.Config, u.Problems, u.Origins = res.Config, res.Problems, res.Origins
	return u, res
}

// sameResult reports whether a and b hold the very same HTTP routers,
// services and middlewares (pointers: unchanged files are not parsed
// again), and equal everything else.
func sameResult(a, b *Result) bool {
	if a == b {
		return true
	}
	return samePointers(a.Config.HTTP.Routers, b.Config.HTTP.Routers) &&
		samePointers(a.Config.HTTP.Services, b.Config.HTTP.Services) &&
		samePointers(a.Config.HTTP.Middlewares, b.Config.HTTP.Middlewares) &&
		maps.Equal(a.Origins, b.Origins) && reflect.DeepEqual(a.Problems, b.Problems) &&
		reflect.DeepEqual(withoutHTTPObjects(a.Config), withoutHTTPObjects(b.Config))
}

// samePointers reports whether a and b map the same names to the same pointers.
func samePointers[T any](a, b map[string]*T) bool {
	if len(a) != len(b) {
		return false
	}
	for name, v := range a {
		if w, ok := b[name]; !ok || w != v {
			return false
		}
	}
	return true
}

// withoutHTTPObjects returns a copy of c without the HTTP routers, services
// and middlewares, which sameResult compares on their own.
func withoutHTTPObjects(c *config.Config) *config.Config {
	cp := *c
	cp.HTTP.Routers, cp.HTTP.Services, cp.HTTP.Middlewares = nil, nil, nil
	return &cp
}
