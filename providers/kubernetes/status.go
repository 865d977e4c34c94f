package kubernetes

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
)

// StatusUpdate is the status one object should have.
type StatusUpdate struct {
	// Current is the object's status as last seen (from the informer cache).
	Current any
	// Want is the status to write. When it equals Current (semantically, as
	// the API machinery compares), nothing is written.
	Want any
	// Write writes Want, typically: take the object from the informer
	// cache, copy it, set its status, UpdateStatus. It is retried with
	// backoff when it fails (a conflict included) unless a newer update for
	// the same object replaced it.
	Write func(ctx context.Context) error
}

// written remembers a status Ferry wrote, and the status the object had
// then, so that an informer cache that has not caught up yet does not cause
// the same write twice.
type written struct {
	want, from any
}

// StatusWriter writes the status subresources of objects in the background,
// at most qps writes a second (bursts of burst), newest wish per object
// first-come first-served, and only when the wanted status differs from the
// object's. Failed writes are retried with per-object backoff (100 ms up to
// 30 s). Keys name objects, e.g. "ingress/default/web".
type StatusWriter struct {
	log     *zap.Logger
	limiter *rate.Limiter
	queue   workqueue.TypedRateLimitingInterface[string]

	mu      sync.Mutex
	pending map[string]StatusUpdate
	done    map[string]written
	failed  map[string]bool // keys whose failure was logged at warn/error
}

// NewStatusWriter returns a writer allowing qps writes a second with bursts
// of burst; run it with Run.
func NewStatusWriter(log *zap.Logger, qps float64, burst int) *StatusWriter {
	return &StatusWriter{
		log:     log,
		limiter: rate.NewLimiter(rate.Limit(qps), burst),
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second)),
		pending: map[string]StatusUpdate{},
		done:    map[string]written{},
		failed:  map[string]bool{},
	}
}

// Set records the status key's object should have; it returns at once.
func (w *StatusWriter) Set(key string, u StatusUpdate) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if equality.Semantic.DeepEqual(u.Current, u.Want) {
		delete(w.pending, key)
		delete(w.done, key) // the cache caught up; forget the write
		return
	}
	if d, ok := w.done[key]; ok && equality.Semantic.DeepEqual(d.want, u.Want) && equality.Semantic.DeepEqual(d.from, u.Current) {
		delete(w.pending, key)
		return // written already; the cache has not seen it yet
	}
	w.pending[key] = u
	w.queue.Add(key)
}

// Forget drops what is known of key's object (it was deleted).
func (w *StatusWriter) Forget(key string) {
	w.mu.Lock()
	delete(w.pending, key)
	delete(w.done, key)
	delete(w.failed, key)
	w.mu.Unlock()
}

// Run writes statuses until ctx ends.
func (w *StatusWriter) Run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
	}()
	for {
		key, quit := w.queue.Get()
		if quit {
			return
		}
		w.process(ctx, key)
		w.queue.Done(key)
	}
}

// process writes key's pending status, if any.
func (w *StatusWriter) process(ctx context.Context, key string) {
	w.mu.Lock()
	u, ok := w.pending[key]
	delete(w.pending, key)
	w.mu.Unlock()
	if !ok {
		w.queue.Forget(key)
		return
	}
	if err := w.limiter.Wait(ctx); err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := u.Write(wctx)
	cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if apierrors.IsNotFound(err) {
			w.queue.Forget(key) // the object is gone; nothing to write
			return
		}
		if _, newer := w.pending[key]; !newer {
			w.pending[key] = u
		}
		w.queue.AddRateLimited(key)
		switch {
		case w.failed[key] || apierrors.IsConflict(err):
			w.log.Debug("kubernetes: status write failed again; retrying", zap.String("object", key), zap.Error(err))
		case apierrors.IsForbidden(err):
			w.failed[key] = true
			w.log.Error("kubernetes: not allowed to update the status of "+key+"; grant update on the status subresource in Ferry's ClusterRole",
				zap.String("object", key), zap.Error(err))
		default:
			w.failed[key] = true
			w.log.Warn("kubernetes: status write failed; retrying", zap.String("object", key), zap.Error(err))
		}
		return
	}
	if w.failed[key] {
		w.log.Info("kubernetes: status written after earlier failures", zap.String("object", key))
		delete(w.failed, key)
	}
	w.done[key] = written{want: u.Want, from: u.Current}
	w.queue.Forget(key)
}
