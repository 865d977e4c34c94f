package ingress

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	kube "github.com/ferryproxy/ferry/providers/kubernetes"
)

// tlsSecrets selects the Secrets the provider reads: only TLS ones, so that
// large Secrets of other kinds (Helm releases, tokens) are never cached.
const tlsSecrets = "type=" + string(corev1.SecretTypeTLS)

// syncLogEvery is how often a provider still waiting for its first lists says so.
const syncLogEvery = 30 * time.Second

// watch holds the informers of one Run and the state of its loop.
type watch struct {
	p  *Provider
	cs clientset.Interface

	factories []*kube.Factories[informers.SharedInformerFactory]
	cluster   informers.SharedInformerFactory // IngressClasses
	single    informers.SharedInformerFactory // the published Service, or nil

	namespaces []string // watched, sorted; [""] for all
	ingresses  []networkinglisters.IngressLister
	services   []corelisters.ServiceLister
	slices     []cache.Indexer
	secrets    []corelisters.SecretLister
	classes    networkinglisters.IngressClassLister
	published  corelisters.ServiceLister

	changed chan struct{}
	refs    atomic.Pointer[refs]

	status   *kube.StatusWriter
	recorder record.EventRecorder

	// State of the loop (one goroutine).
	notes         map[string]string
	invalid       map[string]string
	statusKeys    map[string]bool
	lastPublished *corev1.Service
}

// refs are the Services and Secrets the last build named; events about
// others are ignored.
type refs struct {
	services, secrets map[string]bool
}

// newWatch prepares the informers; nothing runs yet.
func (p *Provider) newWatch(cs clientset.Interface) (*watch, error) {
	tweak, err := kube.LabelSelector(p.opts.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	secretTweak := func(o *metav1.ListOptions) { o.FieldSelector = tlsSecrets }
	w := &watch{
		p: p, cs: cs, changed: make(chan struct{}, 1),
		status:  kube.NewStatusWriter(p.log, statusQPS, statusBurst),
		notes:   map[string]string{},
		invalid: map[string]string{},
	}
	ingF := kube.NewFactories(p.opts.Namespaces, kube.CoreFactory(cs, tweak))
	objF := kube.NewFactories(p.opts.Namespaces, kube.CoreFactory(cs, nil))
	secF := kube.NewFactories(p.opts.Namespaces, kube.CoreFactory(cs, secretTweak))
	w.factories = []*kube.Factories[informers.SharedInformerFactory]{ingF, objF, secF}
	w.namespaces = kube.WatchedNamespaces(p.opts.Namespaces)
	var errs []error
	handle := func(inf cache.SharedIndexInformer, resource string, h cache.ResourceEventHandler) {
		kube.LogWatchErrors(p.log, inf, resource)
		if _, err := inf.AddEventHandler(h); err != nil {
			errs = append(errs, err)
		}
	}
	ingF.Each(func(_ string, f informers.SharedInformerFactory) {
		inf := f.Networking().V1().Ingresses()
		handle(inf.Informer(), "ingresses.networking.k8s.io", cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { w.signal() }, DeleteFunc: func(any) { w.signal() },
			UpdateFunc: func(old, cur any) {
				if ingressChanged(old, cur) {
					w.signal()
				}
			},
		})
		w.ingresses = append(w.ingresses, inf.Lister())
	})
	objF.Each(func(_ string, f informers.SharedInformerFactory) {
		svc := f.Core().V1().Services()
		handle(svc.Informer(), "services", w.handler(func(obj any) bool { return w.refersService(objKey(obj)) }))
		w.services = append(w.services, svc.Lister())
		es := f.Discovery().V1().EndpointSlices().Informer()
		if err := kube.IndexEndpointSlicesByService(es); err != nil {
			errs = append(errs, err)
		}
		handle(es, "endpointslices.discovery.k8s.io", w.handler(func(obj any) bool {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			return ok && w.refersService(key(s.Namespace, s.Labels[discoveryv1.LabelServiceName]))
		}))
		w.slices = append(w.slices, es.GetIndexer())
	})
	secF.Each(func(_ string, f informers.SharedInformerFactory) {
		sec := f.Core().V1().Secrets()
		handle(sec.Informer(), "secrets", w.handler(func(obj any) bool {
			r := w.refs.Load()
			return r == nil || r.secrets[objKey(obj)]
		}))
		w.secrets = append(w.secrets, sec.Lister())
	})
	w.cluster = informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(kube.StripManagedFields))
	ic := w.cluster.Networking().V1().IngressClasses()
	handle(ic.Informer(), "ingressclasses.networking.k8s.io", w.handler(func(any) bool { return true }))
	w.classes = ic.Lister()
	if e := p.opts.IngressEndpoint; e != nil && e.PublishedService != "" {
		ns, name, _ := strings.Cut(e.PublishedService, "/")
		w.single = informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
			informers.WithTransform(kube.StripManagedFields),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name }))
		ps := w.single.Core().V1().Services()
		handle(ps.Informer(), "services", w.handler(func(any) bool { return true }))
		w.published = ps.Lister()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: informers: %w", Name, errors.Join(errs...))
	}
	return w, nil
}

// handler signals a change for objects relevant says matter.
func (w *watch) handler(relevant func(obj any) bool) cache.ResourceEventHandler {
	check := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if relevant(obj) {
			w.signal()
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: check, DeleteFunc: check, UpdateFunc: func(_, cur any) { check(cur) }}
}

// ingressChanged reports whether an Ingress update touches what the build
// reads; Ferry's own status writes do not.
func ingressChanged(old, cur any) bool {
	o, ok1 := old.(*networkingv1.Ingress)
	c, ok2 := cur.(*networkingv1.Ingress)
	if !ok1 || !ok2 {
		return true
	}
	return !reflect.DeepEqual(o.Spec, c.Spec) || !reflect.DeepEqual(o.Annotations, c.Annotations) ||
		!reflect.DeepEqual(o.Labels, c.Labels) || !o.CreationTimestamp.Equal(&c.CreationTimestamp)
}

func objKey(obj any) string {
	if m, ok := obj.(metav1.Object); ok {
		return key(m.GetNamespace(), m.GetName())
	}
	return ""
}

// refersService reports whether the last build named the Service, or it is
// the published Service; before the first build, everything is.
func (w *watch) refersService(k string) bool {
	if e := w.p.opts.IngressEndpoint; e != nil && e.PublishedService == k {
		return true
	}
	r := w.refs.Load()
	return r == nil || r.services[k]
}

func (w *watch) setRefs(services, secrets map[string]bool) {
	w.refs.Store(&refs{services: services, secrets: secrets})
}

// signal asks the loop for a rebuild; signals coalesce.
func (w *watch) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// start starts every informer.
func (w *watch) start(ctx context.Context) {
	for _, f := range w.factories {
		f.Start(ctx)
	}
	w.cluster.StartWithContext(ctx)
	if w.single != nil {
		w.single.StartWithContext(ctx)
	}
}

// shutdown waits for the informers' goroutines; ctx must have ended.
func (w *watch) shutdown() {
	for _, f := range w.factories {
		f.Shutdown()
	}
	w.cluster.Shutdown()
	if w.single != nil {
		w.single.Shutdown()
	}
}

// waitSynced waits until every informer listed once, saying so every
// syncLogEvery; it fails only when ctx ends.
func (w *watch) waitSynced(ctx context.Context) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, syncLogEvery)
		err := w.syncOnce(wctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.p.log.Warn("kubernetes ingress: still waiting for the API server's objects (see the list/watch errors logged)", zap.Error(err))
	}
}

func (w *watch) syncOnce(ctx context.Context) error {
	for _, f := range w.factories {
		if err := f.WaitForCacheSync(ctx); err != nil {
			return err
		}
	}
	if err := w.cluster.WaitForCacheSyncWithContext(ctx).AsError(); err != nil {
		return err
	}
	if w.single != nil {
		return w.single.WaitForCacheSyncWithContext(ctx).AsError()
	}
	return nil
}

// nsIndex is the index of the informers watching namespace ns, or -1.
func (w *watch) nsIndex(ns string) int {
	if len(w.namespaces) == 1 && w.namespaces[0] == "" {
		return 0
	}
	if i, ok := slices.BinarySearch(w.namespaces, ns); ok {
		return i
	}
	return -1
}

func (w *watch) ingressLister(ns string) networkinglisters.IngressLister {
	if i := w.nsIndex(ns); i >= 0 {
		return w.ingresses[i]
	}
	return nil
}

// Service implements objects.
func (w *watch) Service(ns, name string) *corev1.Service {
	if i := w.nsIndex(ns); i >= 0 {
		if s, err := w.services[i].Services(ns).Get(name); err == nil {
			return s
		}
	}
	return nil
}

// EndpointSlices implements objects.
func (w *watch) EndpointSlices(ns, service string) []*discoveryv1.EndpointSlice {
	if i := w.nsIndex(ns); i >= 0 {
		if l, err := kube.EndpointSlicesOf(w.slices[i], ns, service); err == nil {
			return l
		}
	}
	return nil
}

// Secret implements objects.
func (w *watch) Secret(ns, name string) *corev1.Secret {
	if i := w.nsIndex(ns); i >= 0 {
		if s, err := w.secrets[i].Secrets(ns).Get(name); err == nil {
			return s
		}
	}
	return nil
}
