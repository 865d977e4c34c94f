// Package gateway is the Kubernetes Gateway API provider
// (providers.kubernetesGateway): it serves the Gateways whose GatewayClass
// names Ferry's controller (ferryproxy.io/gateway-controller), with their
// HTTPRoutes, GRPCRoutes, TLSRoutes, TCPRoutes and UDPRoutes, and writes
// the status the Gateway API asks for back to every object.
//
// A Gateway listener is served on Ferry's entry points that listen on its
// port (the provider is told them by the static configuration); a
// listener on a port Ferry does not listen on is reported PortUnavailable.
// Backends are the ready endpoints of Services, from their EndpointSlices.
// Route kinds whose definitions are not installed are skipped; the
// provider looks again every 30 seconds and picks up definitions
// installed later.
//
// The informers and status writing live in this file and informers.go;
// the translation from objects to configuration and statuses (build.go
// and the files it calls) is pure.
package gateway

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	clientset "k8s.io/client-go/kubernetes"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/kubernetes"
	"github.com/ferryproxy/ferry/router/config"
)

// ControllerName is the controllerName of the GatewayClasses Ferry serves.
const ControllerName = "ferryproxy.io/gateway-controller"

// ProviderName qualifies the objects of this provider (web@kubernetesgateway).
const ProviderName = "kubernetesgateway"

// Options configure the Gateway API provider (providers.kubernetesGateway
// in the static configuration).
type Options struct {
	// ClientOptions are the API server connection: endpoint, token,
	// certAuthFilePath; in-cluster configuration when all are empty,
	// $KUBECONFIG otherwise.
	kubernetes.ClientOptions
	// Namespaces limits the Gateways, routes, Services and Secrets watched
	// to these namespaces (default: all).
	Namespaces []string `json:"namespaces"`
	// LabelSelector limits the GatewayClasses served to those with these
	// labels, e.g. app=ferry (as Traefik's option of the same name).
	LabelSelector string `json:"labelSelector"`
	// StatusAddress is the address written to every accepted Gateway's
	// status.addresses: where clients reach Ferry.
	StatusAddress *StatusAddress `json:"statusAddress"`
	// EntryPoints are Ferry's entry points, filled in from the static
	// configuration's entryPoints; not read from the file.
	EntryPoints []EntryPoint `json:"-"`
}

// StatusAddress says which address Gateways report. IP and Hostname may
// both be set; Service wins when it has addresses.
type StatusAddress struct {
	// IP is reported as an IPAddress.
	IP string `json:"ip"`
	// Hostname is reported as a Hostname.
	Hostname string `json:"hostname"`
	// Service reports the load balancer addresses of Ferry's own Service
	// (status.loadBalancer.ingress), else its external IPs, else its
	// cluster IP.
	Service *ServiceRef `json:"service"`
}

// ServiceRef names a Service.
type ServiceRef struct {
	// Namespace is the Service's namespace.
	Namespace string `json:"namespace"`
	// Name is the Service's name.
	Name string `json:"name"`
}

// Check reports the first invalid option, naming it.
func (o *Options) Check() error {
	if err := o.ClientOptions.Check(); err != nil {
		return fmt.Errorf("kubernetesGateway: %w", err)
	}
	if _, err := kubernetes.LabelSelector(o.LabelSelector); err != nil {
		return fmt.Errorf("kubernetesGateway: %w", err)
	}
	if sa := o.StatusAddress; sa != nil && sa.Service != nil && (sa.Service.Name == "" || sa.Service.Namespace == "") {
		return fmt.Errorf("kubernetesGateway: statusAddress.service: want namespace and name")
	}
	return nil
}

// Timing of the provider.
const (
	// rediscoverEvery is how often the installed route kinds are looked up again.
	rediscoverEvery = 30 * time.Second
	// probeEvery is how often the API server's /readyz is asked, to notice
	// its return after an outage.
	probeEvery   = 2 * time.Second
	probeTimeout = time.Second
	minBackoff   = 500 * time.Millisecond
	maxBackoff   = 10 * time.Second
	// Status writes: a few a second, in bursts, well below the client's limits.
	statusQPS   = 20
	statusBurst = 50
)

// Provider watches one Kubernetes cluster's Gateway API objects.
type Provider struct {
	log  *zap.Logger
	opts Options
	err  error // a bad option, returned by Run
}

var _ providers.Provider = (*Provider)(nil)

// New returns a provider; invalid options make Run fail (see Options.Check).
func New(log *zap.Logger, o Options) *Provider {
	return &Provider{log: log, opts: o, err: o.Check()}
}

// Name returns "kubernetesgateway".
func (p *Provider) Name() string { return ProviderName }

// Run watches the cluster until ctx ends, sending the full view on out
// after every change and writing statuses back. While the API server is
// unreachable the last view keeps serving; Run retries by itself and
// fails only on bad options or a client that cannot be configured.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Update) error {
	if p.err != nil {
		return p.err
	}
	rc, err := kubernetes.RESTConfig(p.opts.ClientOptions, p.log, "ferry/"+ProviderName)
	if err != nil {
		return fmt.Errorf("kubernetesGateway: %w", err)
	}
	core, err := clientset.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kubernetesGateway: client: %w", err)
	}
	gw, err := gwclient.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kubernetesGateway: Gateway API client: %w", err)
	}
	sw := kubernetes.NewStatusWriter(p.log.Named("status"), statusQPS, statusBurst)
	go sw.Run(ctx)
	s := &session{p: p, core: core, gw: gw, out: out, status: &statusWriter{
		w: sw, client: gw, controller: ControllerName, now: time.Now,
	}, notes: map[string]bool{}}
	backoff := minBackoff
	missing := ""
	for {
		kinds, err := discover(core)
		switch {
		case err != nil:
			if missing != err.Error() {
				p.log.Warn("kubernetesGateway: cannot look up the Gateway API; retrying", zap.Error(err))
				missing = err.Error()
			}
		default:
			missing = ""
			backoff = minBackoff
			p.log.Info("kubernetesGateway: watching", zap.Strings("kinds", sortedKinds(kinds)),
				zap.Strings("namespaces", kubernetes.WatchedNamespaces(p.opts.Namespaces)))
			s.run(ctx, kinds)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// discover returns the Gateway API kinds the API server serves in
// gateway.networking.k8s.io/v1; an error when Gateways are not served.
func discover(core clientset.Interface) (map[string]bool, error) {
	list, err := core.Discovery().ServerResourcesForGroupVersion(gwv1.GroupVersion.String())
	if err != nil {
		return nil, fmt.Errorf("kubernetesGateway: discovery of %s (are the Gateway API CRDs installed?): %w", gwv1.GroupVersion, err)
	}
	kinds := map[string]bool{}
	for _, r := range list.APIResources {
		if !strings.Contains(r.Name, "/") {
			kinds[r.Kind] = true
		}
	}
	if !kinds[kindGateway] || !kinds["GatewayClass"] {
		return nil, fmt.Errorf("kubernetesGateway: %s serves no Gateways or GatewayClasses (are the Gateway API CRDs installed?)", gwv1.GroupVersion)
	}
	return kinds, nil
}

func sortedKinds(kinds map[string]bool) []string {
	return slices.Sorted(maps.Keys(kinds))
}

// session is the provider's state across informer restarts.
type session struct {
	p      *Provider
	core   clientset.Interface
	gw     gwclient.Interface
	out    chan<- providers.Update
	status *statusWriter
	notes  map[string]bool // problems logged already
}

// run watches with informers for the installed kinds until ctx ends or
// the installed kinds change.
func (s *session) run(ctx context.Context, kinds map[string]bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dirty := make(chan struct{}, 1)
	changed := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	inf, err := s.newInformers(kinds, changed, s.status.w.Forget)
	if err != nil {
		s.p.log.Error("kubernetesGateway: informers", zap.Error(err))
		return
	}
	inf.start(ctx)
	defer inf.shutdown(cancel)
	if err := inf.waitForSync(ctx); err != nil {
		if ctx.Err() == nil {
			s.p.log.Warn("kubernetesGateway: caches not synced", zap.Error(err))
		}
		return
	}
	changed() // the first view, even of an empty cluster
	opts := s.buildOptions(kinds)
	tick := time.NewTicker(rediscoverEvery)
	defer tick.Stop()
	probe := time.NewTicker(probeEvery)
	defer probe.Stop()
	down := false
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			// The informers retry a lost API server with a backoff of up to
			// 30 s; a cheap probe notices its return sooner, and fresh
			// informers list everything at once.
			err := s.probe(ctx)
			switch {
			case err != nil && !down:
				down = true
				s.p.log.Warn("kubernetesGateway: API server unreachable; the last routes keep serving", zap.Error(err))
			case err == nil && down:
				s.p.log.Info("kubernetesGateway: API server back; listing again")
				return
			}
		case <-tick.C:
			now, err := discover(s.core)
			if err == nil && !maps.Equal(now, kinds) {
				s.p.log.Info("kubernetesGateway: installed kinds changed; restarting informers", zap.Strings("kinds", sortedKinds(now)))
				return
			}
		case <-dirty:
			start := time.Now()
			snap := inf.snapshot()
			opts.addresses = s.addresses(inf)
			res := build(snap, opts)
			if ce := s.p.log.Check(zap.DebugLevel, "kubernetesGateway: view built"); ce != nil {
				ce.Write(zap.Duration("took", time.Since(start)), zap.Int("routes", len(res.Status.Routes)))
			}
			select {
			case s.out <- providers.Update{Provider: ProviderName, Config: res.Config, Problems: res.Problems, Origins: res.Origins}:
			case <-ctx.Done():
				return
			}
			if first {
				first = false
				s.p.log.Info("kubernetesGateway: synchronized", zap.Int("gateways", len(res.Status.Gateways)),
					zap.Int("routes", len(res.Status.Routes)), zap.Int("routers", len(res.Config.HTTP.Routers)+len(res.Config.TCP.Routers)+len(res.Config.UDP.Routers)))
			}
			s.logProblems(res.Problems)
			s.writeStatuses(inf, snap, res)
		}
	}
}

// probe asks the API server's /readyz.
func (s *session) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return s.core.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
}

// buildOptions are the fixed build inputs of one session.
func (s *session) buildOptions(kinds map[string]bool) *buildOptions {
	eps := slices.Clone(s.p.opts.EntryPoints)
	slices.SortFunc(eps, func(a, b EntryPoint) int { return strings.Compare(a.Name, b.Name) })
	return &buildOptions{controller: ControllerName, entryPoints: eps, kinds: kinds}
}

// addresses returns the status addresses the options ask for.
func (s *session) addresses(inf *informerSet) []gwv1.GatewayStatusAddress {
	sa := s.p.opts.StatusAddress
	if sa == nil {
		return nil
	}
	var out []gwv1.GatewayStatusAddress
	add := func(t gwv1.AddressType, v string) {
		if v != "" {
			out = append(out, gwv1.GatewayStatusAddress{Type: &t, Value: v})
		}
	}
	if sa.Service != nil {
		if svc := inf.statusService(sa.Service.Namespace, sa.Service.Name); svc != nil {
			for _, in := range svc.Status.LoadBalancer.Ingress {
				add(gwv1.IPAddressType, in.IP)
				add(gwv1.HostnameAddressType, in.Hostname)
			}
			if len(out) == 0 {
				for _, ip := range svc.Spec.ExternalIPs {
					add(gwv1.IPAddressType, ip)
				}
			}
			if len(out) == 0 && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != "None" {
				add(gwv1.IPAddressType, svc.Spec.ClusterIP)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	add(gwv1.IPAddressType, sa.IP)
	add(gwv1.HostnameAddressType, sa.Hostname)
	return out
}

// logProblems logs each problem once, while it lasts.
func (s *session) logProblems(ps []config.Problem) {
	now := make(map[string]bool, len(ps))
	for _, p := range ps {
		msg := p.Error()
		now[msg] = true
		if !s.notes[msg] {
			s.p.log.Warn("kubernetesGateway: object not served", zap.String("problem", msg))
		}
	}
	s.notes = now
}
