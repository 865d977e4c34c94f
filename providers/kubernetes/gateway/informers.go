package gateway

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/ferryproxy/ferry/providers/kubernetes"
)

// informerSet is the informers of one session: Gateway API objects in the
// watched namespaces, GatewayClasses (by the label selector), Namespaces
// (for allowedRoutes selectors), Services and EndpointSlices, and the
// Secrets of type kubernetes.io/tls only.
type informerSet struct {
	gwf      *kubernetes.Factories[gwinformers.SharedInformerFactory]
	classf   gwinformers.SharedInformerFactory
	coref    *kubernetes.Factories[informers.SharedInformerFactory]
	secretf  *kubernetes.Factories[informers.SharedInformerFactory]
	clusterf informers.SharedInformerFactory
	statusf  informers.SharedInformerFactory // Ferry's own Service (statusAddress.service); may be nil

	classes, gateways, httpRoutes, grpcRoutes, tlsRoutes, tcpRoutes, udpRoutes, grants []cache.SharedIndexInformer
	namespaces, services, slices, secrets, statusSvc                                   []cache.SharedIndexInformer
}

// newInformers registers the informers of the installed kinds; changed is
// called on every change that can alter the configuration or statuses.
func (s *session) newInformers(kinds map[string]bool, changed func(), forget func(key string)) (*informerSet, error) {
	o := &s.p.opts
	log := s.p.log
	classTweak, err := kubernetes.LabelSelector(o.LabelSelector)
	if err != nil {
		return nil, err
	}
	inf := &informerSet{}
	handler := eventHandler(changed, forget)
	watch := func(list *[]cache.SharedIndexInformer, i cache.SharedIndexInformer, resource string) {
		kubernetes.LogWatchErrors(log, i, resource)
		if _, err := i.AddEventHandler(handler); err != nil {
			log.Error("kubernetesGateway: event handler", zap.String("resource", resource), zap.Error(err))
		}
		*list = append(*list, i)
	}
	inf.gwf = kubernetes.NewFactories(o.Namespaces, func(ns string) gwinformers.SharedInformerFactory {
		return gwinformers.NewSharedInformerFactoryWithOptions(s.gw, 0, gwinformers.WithNamespace(ns))
	})
	inf.gwf.Each(func(_ string, f gwinformers.SharedInformerFactory) {
		v1 := f.Gateway().V1()
		watch(&inf.gateways, v1.Gateways().Informer(), "gateways.gateway.networking.k8s.io")
		if kinds[kindHTTPRoute] {
			watch(&inf.httpRoutes, v1.HTTPRoutes().Informer(), "httproutes.gateway.networking.k8s.io")
		}
		if kinds[kindGRPCRoute] {
			watch(&inf.grpcRoutes, v1.GRPCRoutes().Informer(), "grpcroutes.gateway.networking.k8s.io")
		}
		if kinds[kindTLSRoute] {
			watch(&inf.tlsRoutes, v1.TLSRoutes().Informer(), "tlsroutes.gateway.networking.k8s.io")
		}
		if kinds[kindTCPRoute] {
			watch(&inf.tcpRoutes, v1.TCPRoutes().Informer(), "tcproutes.gateway.networking.k8s.io")
		}
		if kinds[kindUDPRoute] {
			watch(&inf.udpRoutes, v1.UDPRoutes().Informer(), "udproutes.gateway.networking.k8s.io")
		}
		if kinds["ReferenceGrant"] {
			watch(&inf.grants, v1.ReferenceGrants().Informer(), "referencegrants.gateway.networking.k8s.io")
		}
	})
	var opts []gwinformers.SharedInformerOption
	if classTweak != nil {
		opts = append(opts, gwinformers.WithTweakListOptions(classTweak))
	}
	inf.classf = gwinformers.NewSharedInformerFactoryWithOptions(s.gw, 0, opts...)
	watch(&inf.classes, inf.classf.Gateway().V1().GatewayClasses().Informer(), "gatewayclasses.gateway.networking.k8s.io")

	inf.coref = kubernetes.NewFactories(o.Namespaces, kubernetes.CoreFactory(s.core, nil))
	inf.coref.Each(func(_ string, f informers.SharedInformerFactory) {
		watch(&inf.services, f.Core().V1().Services().Informer(), "services")
		watch(&inf.slices, f.Discovery().V1().EndpointSlices().Informer(), "endpointslices.discovery.k8s.io")
	})
	tlsOnly := fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()
	inf.secretf = kubernetes.NewFactories(o.Namespaces, kubernetes.CoreFactory(s.core, func(lo *metav1.ListOptions) { lo.FieldSelector = tlsOnly }))
	inf.secretf.Each(func(_ string, f informers.SharedInformerFactory) {
		watch(&inf.secrets, f.Core().V1().Secrets().Informer(), "secrets")
	})
	inf.clusterf = informers.NewSharedInformerFactoryWithOptions(s.core, 0)
	watch(&inf.namespaces, inf.clusterf.Core().V1().Namespaces().Informer(), "namespaces")
	if sa := o.StatusAddress; sa != nil && sa.Service != nil {
		one := fields.OneTermEqualSelector("metadata.name", sa.Service.Name).String()
		inf.statusf = informers.NewSharedInformerFactoryWithOptions(s.core, 0, informers.WithNamespace(sa.Service.Namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.FieldSelector = one }))
		watch(&inf.statusSvc, inf.statusf.Core().V1().Services().Informer(), "services")
	}
	return inf, nil
}

// eventHandler calls changed on every add and delete, and on updates
// that change more than an object's status: a Gateway API object's spec
// (its generation), labels or annotations; anything of the other kinds.
// forget is told the status key of a deleted object.
func eventHandler(changed func(), forget func(key string)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if key := statusKey(obj); key != "" {
				forget(key)
			}
			changed()
		},
		UpdateFunc: func(oldObj, newObj any) {
			if statusOnly(oldObj, newObj) {
				return
			}
			changed()
		},
	}
}

// statusKey is the status writer's key of a Gateway API object, "" for
// other kinds.
func statusKey(obj any) string {
	switch o := obj.(type) {
	case *gwv1.GatewayClass:
		return "gatewayclass/" + o.Name
	case *gwv1.Gateway:
		return "gateway/" + o.Namespace + "/" + o.Name
	case *gwv1.HTTPRoute:
		return kindHTTPRoute + "/" + o.Namespace + "/" + o.Name
	case *gwv1.GRPCRoute:
		return kindGRPCRoute + "/" + o.Namespace + "/" + o.Name
	case *gwv1.TLSRoute:
		return kindTLSRoute + "/" + o.Namespace + "/" + o.Name
	case *gwv1.TCPRoute:
		return kindTCPRoute + "/" + o.Namespace + "/" + o.Name
	case *gwv1.UDPRoute:
		return kindUDPRoute + "/" + o.Namespace + "/" + o.Name
	}
	return ""
}

// statusOnly reports whether an update of a Gateway API object changed
// nothing but its status (as Ferry's own status writes do).
func statusOnly(oldObj, newObj any) bool {
	switch newObj.(type) {
	case *gwv1.Gateway, *gwv1.GatewayClass, *gwv1.HTTPRoute, *gwv1.GRPCRoute, *gwv1.TLSRoute, *gwv1.TCPRoute, *gwv1.UDPRoute:
	default:
		return false
	}
	o, err1 := meta.Accessor(oldObj)
	n, err2 := meta.Accessor(newObj)
	if err1 != nil || err2 != nil {
		return false
	}
	return o.GetGeneration() == n.GetGeneration() && n.GetGeneration() != 0 &&
		reflect.DeepEqual(o.GetLabels(), n.GetLabels()) && reflect.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) &&
		o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp())
}

func (inf *informerSet) start(ctx context.Context) {
	inf.gwf.Start(ctx)
	inf.classf.StartWithContext(ctx)
	inf.coref.Start(ctx)
	inf.secretf.Start(ctx)
	inf.clusterf.StartWithContext(ctx)
	if inf.statusf != nil {
		inf.statusf.StartWithContext(ctx)
	}
}

// shutdown stops the informers (cancel ends their context) and waits.
func (inf *informerSet) shutdown(cancel context.CancelFunc) {
	cancel()
	inf.gwf.Shutdown()
	inf.classf.Shutdown()
	inf.coref.Shutdown()
	inf.secretf.Shutdown()
	inf.clusterf.Shutdown()
	if inf.statusf != nil {
		inf.statusf.Shutdown()
	}
}

// namespaceSyncWait bounds the wait for the Namespace informer: without
// permission to list Namespaces, only allowedRoutes selectors suffer.
const namespaceSyncWait = 5 * time.Second

// waitForSync waits until every informer has listed once; the Namespace
// informer gets namespaceSyncWait, after which selectors select nothing
// until it syncs (its list errors are logged).
func (inf *informerSet) waitForSync(ctx context.Context) error {
	var errs []error
	for _, f := range []interface {
		WaitForCacheSync(ctx context.Context) error
	}{inf.gwf, inf.coref, inf.secretf} {
		if err := f.WaitForCacheSync(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []kubernetes.Factory{inf.classf, inf.statusf} {
		if f == nil {
			continue
		}
		if err := f.WaitForCacheSyncWithContext(ctx).AsError(); err != nil {
			errs = append(errs, fmt.Errorf("kubernetesGateway: wait for caches: %w", err))
		}
	}
	if len(errs) == 0 {
		nctx, cancel := context.WithTimeout(ctx, namespaceSyncWait)
		_ = inf.clusterf.WaitForCacheSyncWithContext(nctx)
		cancel()
	}
	return errors.Join(errs...)
}

// listAll returns the cached objects of type T of some informers.
func listAll[T any](infs []cache.SharedIndexInformer) []T {
	var out []T
	for _, i := range infs {
		for _, o := range i.GetStore().List() {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

func stores(infs []cache.SharedIndexInformer) []cache.Store {
	out := make([]cache.Store, len(infs))
	for i, inf := range infs {
		out[i] = inf.GetStore()
	}
	return out
}

// snapshot lists every cached object the build reads.
func (inf *informerSet) snapshot() *Snapshot {
	return &Snapshot{
		GatewayClasses:  listAll[*gwv1.GatewayClass](inf.classes),
		Gateways:        listAll[*gwv1.Gateway](inf.gateways),
		HTTPRoutes:      listAll[*gwv1.HTTPRoute](inf.httpRoutes),
		GRPCRoutes:      listAll[*gwv1.GRPCRoute](inf.grpcRoutes),
		TLSRoutes:       listAll[*gwv1.TLSRoute](inf.tlsRoutes),
		TCPRoutes:       listAll[*gwv1.TCPRoute](inf.tcpRoutes),
		UDPRoutes:       listAll[*gwv1.UDPRoute](inf.udpRoutes),
		ReferenceGrants: listAll[*gwv1.ReferenceGrant](inf.grants),
		Namespaces:      listAll[*corev1.Namespace](inf.namespaces),
		Services:        listAll[*corev1.Service](inf.services),
		EndpointSlices:  listAll[*discoveryv1.EndpointSlice](inf.slices),
		Secrets:         listAll[*corev1.Secret](inf.secrets),
	}
}

// statusService returns Ferry's own Service, nil when unknown.
func (inf *informerSet) statusService(ns, name string) *corev1.Service {
	for _, s := range listAll[*corev1.Service](inf.statusSvc) {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

// writeStatuses hands the statuses of a build to the status writer.
func (s *session) writeStatuses(inf *informerSet, snap *Snapshot, res *result) {
	w := s.status
	w.writeClasses(snap.GatewayClasses, res.Status.GatewayClasses, stores(inf.classes))
	w.writeGateways(snap.Gateways, res.Status.Gateways, stores(inf.gateways))
	routes := res.Status.Routes
	writeRoutes(w, routeAccess[*gwv1.HTTPRoute]{kind: kindHTTPRoute, stores: stores(inf.httpRoutes),
		meta:   func(r *gwv1.HTTPRoute) *metav1.ObjectMeta { return &r.ObjectMeta },
		status: func(r *gwv1.HTTPRoute) *gwv1.RouteStatus { return &r.Status.RouteStatus },
		copy:   (*gwv1.HTTPRoute).DeepCopy,
		update: func(ctx context.Context, r *gwv1.HTTPRoute) error {
			_, err := s.gw.GatewayV1().HTTPRoutes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}}, snap.HTTPRoutes, routes)
	writeRoutes(w, routeAccess[*gwv1.GRPCRoute]{kind: kindGRPCRoute, stores: stores(inf.grpcRoutes),
		meta:   func(r *gwv1.GRPCRoute) *metav1.ObjectMeta { return &r.ObjectMeta },
		status: func(r *gwv1.GRPCRoute) *gwv1.RouteStatus { return &r.Status.RouteStatus },
		copy:   (*gwv1.GRPCRoute).DeepCopy,
		update: func(ctx context.Context, r *gwv1.GRPCRoute) error {
			_, err := s.gw.GatewayV1().GRPCRoutes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}}, snap.GRPCRoutes, routes)
	writeRoutes(w, routeAccess[*gwv1.TLSRoute]{kind: kindTLSRoute, stores: stores(inf.tlsRoutes),
		meta:   func(r *gwv1.TLSRoute) *metav1.ObjectMeta { return &r.ObjectMeta },
		status: func(r *gwv1.TLSRoute) *gwv1.RouteStatus { return &r.Status.RouteStatus },
		copy:   (*gwv1.TLSRoute).DeepCopy,
		update: func(ctx context.Context, r *gwv1.TLSRoute) error {
			_, err := s.gw.GatewayV1().TLSRoutes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}}, snap.TLSRoutes, routes)
	writeRoutes(w, routeAccess[*gwv1.TCPRoute]{kind: kindTCPRoute, stores: stores(inf.tcpRoutes),
		meta:   func(r *gwv1.TCPRoute) *metav1.ObjectMeta { return &r.ObjectMeta },
		status: func(r *gwv1.TCPRoute) *gwv1.RouteStatus { return &r.Status.RouteStatus },
		copy:   (*gwv1.TCPRoute).DeepCopy,
		update: func(ctx context.Context, r *gwv1.TCPRoute) error {
			_, err := s.gw.GatewayV1().TCPRoutes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}}, snap.TCPRoutes, routes)
	writeRoutes(w, routeAccess[*gwv1.UDPRoute]{kind: kindUDPRoute, stores: stores(inf.udpRoutes),
		meta:   func(r *gwv1.UDPRoute) *metav1.ObjectMeta { return &r.ObjectMeta },
		status: func(r *gwv1.UDPRoute) *gwv1.RouteStatus { return &r.Status.RouteStatus },
		copy:   (*gwv1.UDPRoute).DeepCopy,
		update: func(ctx context.Context, r *gwv1.UDPRoute) error {
			_, err := s.gw.GatewayV1().UDPRoutes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}}, snap.UDPRoutes, routes)
}
