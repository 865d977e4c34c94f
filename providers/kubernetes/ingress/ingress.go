// Package ingress is the Kubernetes Ingress provider (networking.k8s.io/v1):
// it watches Ingresses of Ferry's class, the Services, EndpointSlices and
// TLS Secrets they name, and turns them into routes, with Traefik's names
// and annotations (traefik.ingress.kubernetes.io/… read unchanged, Ferry's
// own ferry.ingress.kubernetes.io/… winning).
//
// Informers keep a cache of the watched objects; every change rebuilds the
// full view from the cache and sends it. When the API server goes away the
// cache, and so the routes, stay as they were; the informers reconnect and
// relist on their own. The provider writes the address Ferry is reached at
// into each served Ingress's status.loadBalancer (ingressEndpoint), at a
// bounded rate and only when it differs, and records a Warning event on an
// Ingress that is (partly) disabled, with the reasons.
//
// I/O lives in this file and watch.go; build.go, rules.go and
// annotations.go hold the pure objects → configuration step.
package ingress

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/ferryproxy/ferry/providers"
	kube "github.com/ferryproxy/ferry/providers/kubernetes"
	"github.com/ferryproxy/ferry/router/config"
)

// Name is the provider's name: its objects are named web@kubernetesingress.
const Name = "kubernetesingress"

// Options configure the Ingress provider (providers.kubernetesIngress in the
// static configuration), with Traefik's names.
type Options struct {
	// ClientOptions are endpoint, token and certAuthFilePath: how to reach
	// the API server (in a pod with all three empty: its service account).
	kube.ClientOptions
	// Namespaces limits the provider to these namespaces (default: all).
	Namespaces []string `json:"namespaces"`
	// LabelSelector serves only the Ingresses with matching labels, e.g. app=web,tier!=db.
	LabelSelector string `json:"labelSelector"`
	// IngressClass serves only the IngressClass of this name (its controller
	// must be ferryproxy.io/ingress-controller) and Ingresses annotated
	// kubernetes.io/ingress.class with it. Empty: every IngressClass of
	// Ferry's controller, Ingresses annotated "ferry", and Ingresses that
	// name no class.
	IngressClass string `json:"ingressClass"`
	// IngressEndpoint is the address written into the status.loadBalancer of
	// every served Ingress; nothing is written when it is absent.
	IngressEndpoint *IngressEndpoint `json:"ingressEndpoint"`
	// AllowEmptyServices serves a backend whose Service has no ready
	// endpoint with 503 answers; by default its router is disabled (404).
	AllowEmptyServices bool `json:"allowEmptyServices"`
	// AllowExternalNameServices lets backends name Services of type
	// ExternalName (the external name is then the server); by default such a
	// backend is refused, as it can reach any host.
	AllowExternalNameServices bool `json:"allowExternalNameServices"`
	// NativeLBByDefault sends requests to each Service's cluster IP (the
	// cluster's load balancing) instead of to its endpoints; the Service
	// annotation …/service.nativelb overrides it per Service.
	NativeLBByDefault bool `json:"nativeLBByDefault"`
	// ThrottleDuration is the least time between two views sent to the
	// merger (default 0: each change is sent at once; the merger debounces).
	ThrottleDuration config.Duration `json:"throttleDuration"`
}

// IngressEndpoint is the address published in Ingress statuses: either ip
// and/or hostname, or the address of a Service (its load balancer's, else
// its external IPs, else its external name).
type IngressEndpoint struct {
	// IP is the IP address clients reach Ferry at.
	IP string `json:"ip"`
	// Hostname is the DNS name clients reach Ferry at.
	Hostname string `json:"hostname"`
	// PublishedService is namespace/name of the Service in front of Ferry whose address is copied.
	PublishedService string `json:"publishedService"`
}

// Limits of status writes and events.
const (
	statusQPS   = 10
	statusBurst = 50
)

// Provider watches Ingresses of one Kubernetes cluster.
type Provider struct {
	log   *zap.Logger
	opts  Options
	build buildOptions
	err   error // a bad option, returned by Run
}

var _ providers.Provider = (*Provider)(nil)

// Check reports the first invalid option, naming it.
func (o *Options) Check() error {
	if err := o.ClientOptions.Check(); err != nil {
		return err
	}
	if _, err := kube.LabelSelector(o.LabelSelector); err != nil {
		return err
	}
	if e := o.IngressEndpoint; e != nil && e.PublishedService != "" {
		if ns, name, ok := strings.Cut(e.PublishedService, "/"); !ok || ns == "" || name == "" {
			return fmt.Errorf("ingressEndpoint.publishedService %q: want namespace/name", e.PublishedService)
		}
	}
	if o.ThrottleDuration < 0 {
		return fmt.Errorf("throttleDuration: negative")
	}
	return nil
}

// New returns a provider; invalid options make Run fail (see Options.Check).
func New(log *zap.Logger, o Options) *Provider {
	p := &Provider{log: log, opts: o, build: buildOptions{
		ingressClass: o.IngressClass, allowEmptyServices: o.AllowEmptyServices,
		allowExternalNameServices: o.AllowExternalNameServices, nativeLBByDefault: o.NativeLBByDefault,
	}}
	if err := o.Check(); err != nil {
		p.err = fmt.Errorf("%s: %w", Name, err)
	}
	return p
}

// Name returns "kubernetesingress".
func (p *Provider) Name() string { return Name }

// Run watches the cluster until ctx ends, sending the full view after every
// relevant change. It fails only on bad options or client configuration;
// an unreachable API server is retried for ever, keeping the last view.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Update) error {
	if p.err != nil {
		return p.err
	}
	rc, err := kube.RESTConfig(p.opts.ClientOptions, p.log, "ferry/"+Name)
	if err != nil {
		return fmt.Errorf("%s: %w", Name, err)
	}
	cs, err := clientset.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("%s: client: %w", Name, err)
	}
	w, err := p.newWatch(cs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(kube.WithLogger(ctx, p.log))
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	w.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "ferry"})
	w.start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.status.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
		broadcaster.Shutdown()
		w.shutdown()
	}()

	p.log.Info("kubernetes ingress: waiting for the API server's objects", zap.String("endpoint", rc.Host),
		zap.Strings("namespaces", kube.WatchedNamespaces(p.opts.Namespaces)))
	if err := w.waitSynced(ctx); err != nil {
		return nil // ctx ended
	}
	p.log.Info("kubernetes ingress: synchronized")
	w.signal()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.changed:
		}
		u := w.update()
		select {
		case out <- u:
		case <-ctx.Done():
			return nil
		}
		if d := time.Duration(p.opts.ThrottleDuration); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// update builds the full view from the caches, logs what changed in it, and
// queues status writes and events.
func (w *watch) update() providers.Update {
	var ings []*networkingv1.Ingress
	for _, l := range w.ingresses {
		list, _ := l.List(labels.Everything())
		ings = append(ings, list...)
	}
	classes, _ := w.classes.List(labels.Everything())
	res := build(ings, classes, w, &w.p.build)
	w.setRefs(res.services, res.secrets)
	w.report(res)
	w.writeStatuses(res.served)
	return providers.Update{Provider: Name, Config: res.config, Problems: res.problems, Origins: res.origins}
}

// report logs notes and records events for Ingresses whose reasons changed.
func (w *watch) report(res *result) {
	for obj, notes := range res.notes {
		if joined := strings.Join(notes, "; "); w.notes[obj] != joined {
			w.p.log.Debug("kubernetes ingress: annotation without effect", zap.String("object", obj), zap.Strings("notes", notes))
		}
	}
	w.notes = map[string]string{}
	for obj, notes := range res.notes {
		w.notes[obj] = strings.Join(notes, "; ")
	}
	invalid := make(map[string]string, len(res.invalid))
	for _, ing := range res.served {
		ik := key(ing.Namespace, ing.Name)
		reasons := res.invalid[ik]
		if len(reasons) == 0 {
			continue
		}
		msg := strings.Join(reasons, "; ")
		invalid[ik] = msg
		if w.invalid[ik] != msg {
			w.p.log.Warn("kubernetes ingress: problems in ingress (what they name is disabled; warnings disable nothing)",
				zap.String("ingress", ik), zap.Strings("reasons", reasons))
			if w.recorder != nil {
				w.recorder.Event(ing, corev1.EventTypeWarning, "FerryProblem", truncate(msg, 1000))
			}
		}
	}
	for ik := range w.invalid {
		if _, still := invalid[ik]; !still {
			w.p.log.Info("kubernetes ingress: ingress has no problem any more", zap.String("ingress", ik))
		}
	}
	w.invalid = invalid
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// writeStatuses queues the status.loadBalancer of every served Ingress.
func (w *watch) writeStatuses(served []*networkingv1.Ingress) {
	e := w.p.opts.IngressEndpoint
	if e == nil {
		return
	}
	var published *corev1.Service
	if e.PublishedService != "" {
		ns, name, _ := strings.Cut(e.PublishedService, "/")
		published, _ = w.published.Services(ns).Get(name)
	}
	want, ok := loadBalancerStatus(e, published)
	if !ok {
		if e.PublishedService != "" && published != w.lastPublished {
			w.p.log.Warn("kubernetes ingress: publishedService has no address yet; Ingress statuses left as they are",
				zap.String("service", e.PublishedService))
		}
		w.lastPublished = published
		return
	}
	w.lastPublished = published
	keys := make(map[string]bool, len(served))
	for _, ing := range served {
		k := "ingress/" + key(ing.Namespace, ing.Name)
		keys[k] = true
		ns, name := ing.Namespace, ing.Name
		w.status.Set(k, kube.StatusUpdate{Current: ing.Status.LoadBalancer, Want: want, Write: func(ctx context.Context) error {
			return w.writeStatus(ctx, ns, name, want)
		}})
	}
	for k := range w.statusKeys {
		if !keys[k] {
			w.status.Forget(k)
		}
	}
	w.statusKeys = keys
}

// writeStatus writes one Ingress's status.loadBalancer from its cached copy.
func (w *watch) writeStatus(ctx context.Context, ns, name string, want networkingv1.IngressLoadBalancerStatus) error {
	l := w.ingressLister(ns)
	if l == nil {
		return nil
	}
	cur, err := l.Ingresses(ns).Get(name)
	if err != nil {
		return fmt.Errorf("%s: status of ingress %s/%s: %w", Name, ns, name, err)
	}
	cp := cur.DeepCopy()
	cp.Status.LoadBalancer = want
	if _, err := w.cs.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("%s: update status of ingress %s/%s: %w", Name, ns, name, err)
	}
	return nil
}

// loadBalancerStatus is the status.loadBalancer of served Ingresses, and
// false when there is nothing to write (yet).
func loadBalancerStatus(e *IngressEndpoint, published *corev1.Service) (networkingv1.IngressLoadBalancerStatus, bool) {
	var st networkingv1.IngressLoadBalancerStatus
	if e.PublishedService == "" {
		if e.IP == "" && e.Hostname == "" {
			return st, false
		}
		st.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: e.IP, Hostname: e.Hostname}}
		return st, true
	}
	if published == nil {
		return st, false
	}
	for _, in := range published.Status.LoadBalancer.Ingress {
		st.Ingress = append(st.Ingress, networkingv1.IngressLoadBalancerIngress{IP: in.IP, Hostname: in.Hostname})
	}
	if len(st.Ingress) == 0 {
		for _, ip := range published.Spec.ExternalIPs {
			st.Ingress = append(st.Ingress, networkingv1.IngressLoadBalancerIngress{IP: ip})
		}
	}
	if len(st.Ingress) == 0 && published.Spec.Type == corev1.ServiceTypeExternalName && published.Spec.ExternalName != "" {
		st.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: published.Spec.ExternalName}}
	}
	return st, len(st.Ingress) > 0
}
