package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Factory is what Factories needs of a generated shared informer factory.
// client-go's informers.SharedInformerFactory and the Gateway API's
// externalversions.SharedInformerFactory both satisfy it.
type Factory interface {
	StartWithContext(ctx context.Context)
	WaitForCacheSyncWithContext(ctx context.Context) cache.SyncResult
	Shutdown()
}

// Factories holds one informer factory per watched namespace, or a single
// one for all namespaces, so that a provider restricted to some namespaces
// lists and keeps only their objects.
type Factories[F Factory] struct {
	namespaces []string // "" alone means all namespaces
	factories  []F
}

// NewFactories makes one factory per namespace with newFactory; no
// namespace (or "") means one factory for all namespaces, newFactory("").
// Duplicates are ignored.
func NewFactories[F Factory](namespaces []string, newFactory func(namespace string) F) *Factories[F] {
	ns := WatchedNamespaces(namespaces)
	fs := &Factories[F]{namespaces: ns, factories: make([]F, len(ns))}
	for i, n := range ns {
		fs.factories[i] = newFactory(n)
	}
	return fs
}

// WatchedNamespaces returns the sorted, unique namespaces to watch; [""]
// (metav1.NamespaceAll) when namespaces is empty or names "".
func WatchedNamespaces(namespaces []string) []string {
	if len(namespaces) == 0 || slices.Contains(namespaces, metav1.NamespaceAll) {
		return []string{metav1.NamespaceAll}
	}
	ns := slices.Clone(namespaces)
	slices.Sort(ns)
	return slices.Compact(ns)
}

// Each calls fn with every factory and its namespace ("" for all), in
// namespace order; register informers with it before Start.
func (fs *Factories[F]) Each(fn func(namespace string, f F)) {
	for i, f := range fs.factories {
		fn(fs.namespaces[i], f)
	}
}

// Start starts every informer registered so far; they stop when ctx ends.
func (fs *Factories[F]) Start(ctx context.Context) {
	for _, f := range fs.factories {
		f.StartWithContext(ctx)
	}
}

// WaitForCacheSync blocks until every started informer has listed its
// objects once, or ctx ends; the error then names the informers not synced.
// Informers retry a failing list on their own (see LogWatchErrors).
func (fs *Factories[F]) WaitForCacheSync(ctx context.Context) error {
	var errs []error
	for i, f := range fs.factories {
		if err := f.WaitForCacheSyncWithContext(ctx).AsError(); err != nil {
			errs = append(errs, fmt.Errorf("namespace %q: %w", fs.namespaces[i], err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kubernetes: wait for caches: %w", errors.Join(errs...))
	}
	return nil
}

// Shutdown waits for the informers' goroutines to end; call it after the
// context given to Start ended.
func (fs *Factories[F]) Shutdown() {
	for _, f := range fs.factories {
		f.Shutdown()
	}
}

// CoreFactory returns a constructor of client-go informer factories for
// NewFactories, without periodic resync and with StripManagedFields. tweak,
// when not nil, filters every list and watch of the factory (see
// LabelSelector).
func CoreFactory(client clientset.Interface, tweak func(*metav1.ListOptions)) func(namespace string) informers.SharedInformerFactory {
	return func(namespace string) informers.SharedInformerFactory {
		opts := []informers.SharedInformerOption{informers.WithNamespace(namespace), informers.WithTransform(StripManagedFields)}
		if tweak != nil {
			opts = append(opts, informers.WithTweakListOptions(tweak))
		}
		return informers.NewSharedInformerFactoryWithOptions(client, 0, opts...)
	}
}

// StripManagedFields is an informer transform that drops
// metadata.managedFields, which no provider reads and which can be most of
// a small object's size in the cache.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// LabelSelector checks a label selector (app=web,tier!=db) and returns a
// list-options tweak that applies it; "" returns nil.
func LabelSelector(selector string) (func(*metav1.ListOptions), error) {
	if selector == "" {
		return nil, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("labelSelector %q: %w", selector, err)
	}
	s := sel.String()
	return func(o *metav1.ListOptions) { o.LabelSelector = s }, nil
}

// repeatLogAfter is how long the same list/watch error stays quiet.
const repeatLogAfter = time.Minute

// LogWatchErrors makes inf log its list and watch failures on log instead of
// klog, naming resource (e.g. "ingresses.networking.k8s.io"). A refusal by
// the API server's authorization (403) or authentication (401) is an error
// that names the resource and verb; other failures (the API server is down)
// are warnings saying the last routes keep serving. The same message is
// logged at most once a minute. The informer retries with backoff by itself.
// Call before the informer starts.
func LogWatchErrors(log *zap.Logger, inf cache.SharedIndexInformer, resource string) {
	logErr := watchErrorLogger(log, resource)
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) { logErr(err) })
}

// watchErrorLogger is LogWatchErrors' handler for one informer.
func watchErrorLogger(log *zap.Logger, resource string) func(error) {
	var mu sync.Mutex
	var lastMsg string
	var lastAt time.Time
	return func(err error) {
		if err == nil || errors.Is(err, io.EOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return
		}
		msg := err.Error()
		mu.Lock()
		repeat := msg == lastMsg && time.Since(lastAt) < repeatLogAfter
		if !repeat {
			lastMsg, lastAt = msg, time.Now()
		}
		mu.Unlock()
		if repeat {
			log.Debug("kubernetes: list/watch failed again", zap.String("resource", resource), zap.Error(err))
			return
		}
		switch {
		case apierrors.IsForbidden(err):
			log.Error("kubernetes: not allowed to list/watch "+resource+"; grant list and watch on it in Ferry's ClusterRole",
				zap.String("resource", resource), zap.Strings("verbs", []string{"list", "watch"}), zap.Error(err))
		case apierrors.IsUnauthorized(err):
			log.Error("kubernetes: API server refused Ferry's credentials while listing "+resource,
				zap.String("resource", resource), zap.Error(err))
		default:
			log.Warn("kubernetes: list/watch "+resource+" failed; the last routes keep serving, retrying",
				zap.String("resource", resource), zap.Error(err))
		}
	}
}
