package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestKubeScale creates 1,000 Ingresses, each with its own Service whose
// EndpointSlice has 3 endpoints, and reports the time until all serve,
// Ferry's memory, and the time to apply one more. It runs when
// FERRY_E2E_SCALE is set. The figures are logged, not asserted.
func TestKubeScale(t *testing.T) {
	if os.Getenv("FERRY_E2E_SCALE") == "" {
		t.Skip("set FERRY_E2E_SCALE=1 to create 1,000 Ingresses")
	}
	const n, workers = 1000, 16
	k := Kube(t)
	ns := k.Namespace(t)
	bs := startKubeBackends(t, "scale", 3)
	port := bs[0].Port
	f := k.StartFerry(t, ns, Options{}, "")
	idle := rss(t, f.cmd.Process.Pid)
	host := func(i int) string { return fmt.Sprintf("s%d.scale.kube.test", i) }
	prefix := networkingv1.PathTypePrefix
	create := func(ctx context.Context, i int) error {
		name := fmt.Sprintf("s%d", i)
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(port)}}}}
		if _, err := k.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := k.setEndpoints(ctx, ns, name, port, epsOf(bs...)); err != nil {
			return err
		}
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host(i),
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
		_, err := k.Client.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{})
		return err
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for range workers {
		wg.Go(func() {
			for i := range work {
				if err := create(context.Background(), i); err != nil {
					errs <- fmt.Errorf("object %d: %w", i, err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := time.Since(start)
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(3 * time.Minute)
	for len(pending) > 0 {
		var still []int
		for _, i := range pending {
			res, err := f.Do(http.MethodGet, host(i), "/", nil)
			if err != nil || res.Status != http.StatusOK {
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d Ingresses not served after 3 minutes", len(pending), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	all := time.Since(start)
	served := rss(t, f.cmd.Process.Pid)
	seen := f.backendsSeen(host(n-1), 30)
	if len(seen) != 3 {
		t.Errorf("the last Ingress's 3 endpoints: %v", seen)
	}

	// One more, through kubectl: apply returned → first 200.
	name := fmt.Sprintf("s%d", n)
	k.CreateService(t, ns, name, port, nil)
	k.SetEndpoints(t, ns, name, port, epsOf(bs...))
	var ds []time.Duration
	for i := range 5 {
		h := fmt.Sprintf("more%d.scale.kube.test", i)
		k.Apply(t, ingressYAML(ns, fmt.Sprintf("more%d", i), h, name, nil))
		ds = append(ds, f.waitRouteWithin(h, "/", http.StatusOK, "", waitTimeout))
	}
	slices.Sort(ds)
	builds := regexp.MustCompile(`"msg":"configuration applied","routers":(100[0-9]|99[0-9]),[^}]*"build":"([^"]+)"`).FindAllStringSubmatch(f.Logs(), -1)
	lastBuild := "unknown"
	if len(builds) > 0 {
		lastBuild = builds[len(builds)-1][2]
	}
	t.Logf("%d Ingresses (%d Services, %d EndpointSlices of 3 endpoints): created in %s, all served %s after the first create; "+
		"ferry RSS %s (%s before); one more Ingress: kubectl apply → first 200 median %s, max %s (router build %s)",
		n, n, n, created.Round(time.Millisecond), all.Round(time.Millisecond), served, idle,
		ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), lastBuild)
}
