package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ferryproxy/ferry/test/echo"
)

// kubeBackend is an echo backend on one of kubeBackendIPs.
type kubeBackend struct {
	Name string
	IP   string
	Port int
	// Hits counts the requests it answered.
	Hits atomic.Int64
}

// startKubeBackends starts n echo backends named prefix-0…, one per
// address of kubeBackendIPs, all on one port (an EndpointSlice has one port
// list for all its endpoints).
func startKubeBackends(t *testing.T, prefix string, n int) []*kubeBackend {
	t.Helper()
	if n > len(kubeBackendIPs) {
		t.Fatalf("at most %d backends", len(kubeBackendIPs))
	}
	port := freePort(t)
	out := make([]*kubeBackend, n)
	for i := range n {
		b := &kubeBackend{Name: fmt.Sprintf("%s-%d", prefix, i), IP: kubeBackendIPs[i], Port: port}
		h := echo.Handler(b.Name)
		ln, err := net.Listen("tcp", net.JoinHostPort(b.IP, fmt.Sprint(port)))
		if err != nil {
			t.Fatalf("backend listen: %v", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.Hits.Add(1)
			h.ServeHTTP(w, r)
		}), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		out[i] = b
	}
	return out
}

// kubeEP is one endpoint of an EndpointSlice written by a test.
type kubeEP struct {
	IP          string
	Terminating bool
}

func epsOf(bs ...*kubeBackend) []kubeEP {
	out := make([]kubeEP, len(bs))
	for i, b := range bs {
		out[i] = kubeEP{IP: b.IP}
	}
	return out
}

// CreateService creates a Service without selector with port 80 (named
// http) whose endpoints listen on targetPort.
func (k *kubeCluster) CreateService(t *testing.T, ns, name string, targetPort int, annotations map[string]string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(targetPort)}}},
	}
	if _, err := k.Client.CoreV1().Services(ns).Create(kubeCtx(t), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
}

// SetEndpoints creates or replaces the EndpointSlice <service>-ferry of a
// Service: endpoints ready unless terminating (then serving, not ready).
func (k *kubeCluster) SetEndpoints(t *testing.T, ns, service string, port int, eps []kubeEP) {
	t.Helper()
	if err := k.setEndpoints(context.Background(), ns, service, port, eps); err != nil {
		t.Fatal(err)
	}
}

func (k *kubeCluster) setEndpoints(ctx context.Context, ns, service string, port int, eps []kubeEP) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s := endpointSlice(ns, service, port, eps)
	api := k.Client.DiscoveryV1().EndpointSlices(ns)
	cur, err := api.Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, s, metav1.CreateOptions{})
	case err == nil:
		s.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("endpoint slice of %s/%s: %w", ns, service, err)
	}
	return nil
}

func endpointSlice(ns, service string, port int, eps []kubeEP) *discoveryv1.EndpointSlice {
	name, p, proto := "http", int32(port), corev1.ProtocolTCP
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-ferry", Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: service, discoveryv1.LabelManagedBy: "ferry-e2e"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &p, Protocol: &proto}},
	}
	for _, e := range eps {
		ready, serving, term := !e.Terminating, true, e.Terminating
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.IP},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &term}})
	}
	return s
}

// ingressYAML is an Ingress routing host (path /, Prefix) to service port 80.
func ingressYAML(ns, name, host, service string, annotations map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	fmt.Fprintf(&b, `spec:
  rules:
  - host: %s
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: %s
            port:
              number: 80
`, host, service)
	return b.String()
}

// kubeFerryOptions adds the Ingress provider, watching namespace ns, to o.
func (k *kubeCluster) kubeFerryOptions(ns string, o Options, extra string) Options {
	o.Providers += fmt.Sprintf(`  kubernetesIngress:
    endpoint: %q
    token: %q
    certAuthFilePath: %q
    namespaces: [%q]
    ingressEndpoint:
      ip: %s
%s`, k.URL, k.Token, k.CA, ns, kubeBackendIPs[0], extra)
	return o
}

// StartFerry starts Ferry with the Ingress provider watching ns and waits
// until the provider has synchronized.
func (k *kubeCluster) StartFerry(t *testing.T, ns string, o Options, extra string) *Ferry {
	t.Helper()
	f := StartFerry(t, k.kubeFerryOptions(ns, o, extra))
	t.Cleanup(func() { checkNoKlog(t, f.Logs()) })
	f.WaitLog(0, "kubernetes ingress: synchronized", func(l string) bool {
		return strings.Contains(l, "kubernetes ingress: synchronized")
	})
	return f
}

// klogLine is the start of a line klog writes (E1202 03:04:05.678901 …):
// client-go logging around Ferry's logger.
var klogLine = regexp.MustCompile(`(?m)^[IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ `)

// checkNoKlog fails the test when Ferry's log holds klog lines.
func checkNoKlog(t *testing.T, logs string) {
	t.Helper()
	for _, loc := range klogLine.FindAllStringIndex(logs, 5) {
		end := strings.IndexByte(logs[loc[0]:], '\n')
		if end < 0 {
			end = len(logs) - loc[0]
		}
		t.Errorf("ferry log holds a klog line (client-go logging around zap): %s", logs[loc[0]:loc[0]+end])
	}
}

// WaitIngressStatus waits until the Ingress's status.loadBalancer shows ip.
func (k *kubeCluster) WaitIngressStatus(t *testing.T, ns, name, ip string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last []networkingv1.IngressLoadBalancerIngress
	for time.Now().Before(deadline) {
		ing, err := k.Client.NetworkingV1().Ingresses(ns).Get(kubeCtx(t), name, metav1.GetOptions{})
		if err == nil {
			last = ing.Status.LoadBalancer.Ingress
			if len(last) == 1 && last[0].IP == ip {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ingress %s/%s: status.loadBalancer.ingress %+v, want [{IP: %s}]", ns, name, last, ip)
}

// kubeLoad sends GET requests for host through Ferry, one after another,
// until stop is closed or max requests were sent, and counts failures (a
// transport error or a status other than 200).
type kubeLoad struct {
	sent, failed atomic.Int64
	lastErr      atomic.Value
	done         chan struct{}
}

func startKubeLoad(f *Ferry, host string, stop <-chan struct{}, max int) *kubeLoad {
	l := &kubeLoad{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; i < max; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := f.Do(http.MethodGet, host, "/", nil)
			l.sent.Add(1)
			if err == nil && res.Status != http.StatusOK {
				err = fmt.Errorf("status %d from %q", res.Status, res.Backend())
			}
			if err != nil {
				l.failed.Add(1)
				l.lastErr.Store(err.Error())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}

func (l *kubeLoad) wait() { <-l.done }

func (l *kubeLoad) err() error {
	if v, ok := l.lastErr.Load().(string); ok {
		return errors.New(v)
	}
	return nil
}
