package router

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/config"
)

// weightedService spreads requests across services by weight, skipping
// services that have no healthy server.
type weightedService struct {
	balancer *balance.Balancer[*service]
	sticky   *sticky
}

func newWeightedService(name string, def *config.Weighted, children map[string]*service, prev *service) (*weightedService, error) {
	nodes := make([]balance.Node[*service], 0, len(def.Services))
	values := make([]string, 0, len(def.Services))
	for _, ws := range def.Services {
		child := children[ws.Name]
		weight := 1
		if ws.Weight != nil {
			weight = *ws.Weight
		}
		nodes = append(nodes, balance.Node[*service]{Weight: weight, Value: child, Health: func() balance.Availability {
			if child.healthy() {
				return balance.Available
			}
			return balance.Unavailable
		}})
		values = append(values, stickyValue(name, ws.Name))
	}
	b, err := balance.New(balance.WRR, nodes)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		if old, ok := prev.handler.(*weightedService); ok {
			b.CarryCurrent(old.balancer, func(s *service) string { return s.name })
		}
	}
	w := &weightedService{balancer: b}
	if def.Sticky != nil && def.Sticky.Cookie != nil {
		w.sticky = newSticky(name, def.Sticky.Cookie, values)
	}
	return w, nil
}

func (s *weightedService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, ok := pick(w, r, s.sticky, s.balancer)
	if !ok {
		noServer(w)
		return
	}
	s.balancer.Node(i).Value.ServeHTTP(w, r)
}

// failoverService sends requests to main while it has a healthy server,
// else to fallback.
type failoverService struct {
	main, fallback *service
}

func (f *failoverService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.main.healthy() || !f.fallback.healthy() {
		f.main.ServeHTTP(w, r)
		return
	}
	f.fallback.ServeHTTP(w, r)
}

func (f *failoverService) healthy() bool { return f.main.healthy() || f.fallback.healthy() }

const (
	// mirrorConcurrency bounds the copies in flight per mirroring service;
	// beyond it copies are dropped, never queued.
	mirrorConcurrency = 64
	// mirrorTimeout bounds one copy.
	mirrorTimeout = 30 * time.Second
)

// mirroringService answers from main and sends copies of a share of
// requests to mirrors, in the background.
type mirroringService struct {
	name       string
	main       *service
	mirrors    []*mirrorTarget
	mirrorBody bool
	maxBody    int64 // -1: no limit
	slots      chan struct{}
	log        *zap.Logger
}

// mirrorTarget is one mirror and its share.
type mirrorTarget struct {
	svc     *service
	percent uint64
	count   atomic.Uint64
}

// take reports whether the next request goes to this mirror: exactly
// percent of every hundred requests do, spread out.
func (t *mirrorTarget) take() bool {
	if t.percent == 0 {
		return false
	}
	n := t.count.Add(1)
	return n*t.percent/100 != (n-1)*t.percent/100
}

func newMirroringService(name string, def *config.Mirroring, children map[string]*service, log *zap.Logger) *mirroringService {
	m := &mirroringService{name: name, main: children[def.Service], mirrorBody: def.MirrorBody == nil || *def.MirrorBody,
		maxBody: config.DefaultMirrorMaxBodySize, slots: make(chan struct{}, mirrorConcurrency), log: log}
	if def.MaxBodySize != nil {
		m.maxBody = *def.MaxBodySize
	}
	for _, mm := range def.Mirrors {
		m.mirrors = append(m.mirrors, &mirrorTarget{svc: children[mm.Name], percent: uint64(mm.Percent)})
	}
	return m
}

func (s *mirroringService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var chosen [4]*service
	targets := chosen[:0]
	for _, m := range s.mirrors {
		if m.take() {
			targets = append(targets, m.svc)
		}
	}
	if len(targets) > 0 && r.Header.Get("Upgrade") == "" {
		s.mirror(r, targets)
	}
	s.main.ServeHTTP(w, r)
}

// mirror starts the copies of r. It reads the body first when it is to be
// copied and within maxBody; otherwise r is not copied, or copied without
// its body when mirrorBody is off.
func (s *mirroringService) mirror(r *http.Request, targets []*service) {
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	var body []byte
	if hasBody && s.mirrorBody {
		if s.maxBody >= 0 && r.ContentLength > s.maxBody {
			return
		}
		limit := s.maxBody
		if limit < 0 {
			limit = 1<<63 - 2
		}
		buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		switch {
		case err != nil:
			r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), errReader{err}), r.Body}
			return
		case int64(len(buf)) > limit:
			r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
			return
		}
		body = buf
		r.Body = readCloser{bytes.NewReader(buf), r.Body}
	}
	for _, target := range targets {
		select {
		case s.slots <- struct{}{}:
		default:
			if ce := s.log.Check(zapcore.DebugLevel, "mirror copy dropped: too many in flight"); ce != nil {
				ce.Write(zap.String("service", s.name), zap.String("mirror", target.name))
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), mirrorTimeout)
		mr := r.Clone(ctx)
		switch {
		case body != nil:
			mr.Body = io.NopCloser(bytes.NewReader(body))
		case hasBody:
			mr.Body, mr.ContentLength = http.NoBody, 0
			mr.Header.Del("Content-Length")
		}
		go s.send(target, mr, cancel)
	}
}

// send delivers one copy and discards the answer.
func (s *mirroringService) send(target *service, r *http.Request, cancel context.CancelFunc) {
	defer func() { <-s.slots }()
	defer cancel()
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			s.log.Error("mirror copy panicked", zap.String("service", s.name), zap.String("mirror", target.name),
				zap.String("panic", fmt.Sprint(v)))
		}
	}()
	target.ServeHTTP(&discardWriter{header: http.Header{}}, r)
}

// discardWriter is the response writer of mirror copies.
type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// errReader returns err once the buffered part of a body is read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
