package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeManifests is the deployment manifest, relative to this package.
const kubeManifests = "../../configs/kubernetes/ferry.yaml"

// saDir is where a pod finds its service account's credentials.
const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// TestKubeDeployManifests applies configs/kubernetes/ferry.yaml to the API
// server and runs Ferry as its Deployment would: the ConfigMap's static file
// (ports aside), in-cluster configuration with the ServiceAccount's token.
// It gets no RBAC error: it lists and watches, writes Ingress statuses (the
// published Service's address) and records events. With a permission taken
// from the ClusterRole, Ferry says which resource and verb it lacks.
func TestKubeDeployManifests(t *testing.T) {
	k := Kube(t)
	manifests, err := os.ReadFile(kubeManifests)
	if err != nil {
		t.Fatal(err)
	}
	k.Apply(t, string(manifests))
	t.Cleanup(func() { k.Apply(t, string(manifests)) }) // the full ClusterRole again
	// A cloud controller would give the LoadBalancer Service its address.
	svc, err := k.Client.CoreV1().Services("ferry").Get(kubeCtx(t), "ferry", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: kubeBackendIPs[4]}}
	if _, err := k.Client.CoreV1().Services("ferry").UpdateStatus(kubeCtx(t), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := k.Client.CoreV1().ConfigMaps("ferry").Get(kubeCtx(t), "ferry-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	static := cm.Data["ferry.yaml"]
	if !strings.Contains(static, "kubernetesIngress:") {
		t.Fatalf("the ConfigMap's static file has no kubernetesIngress provider:\n%s", static)
	}
	k.podCredentials(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", fmt.Sprint(k.Port))

	ns := k.Namespace(t)
	bs := startKubeBackends(t, "deploy", 1)
	k.CreateService(t, ns, "web", bs[0].Port, nil)
	k.SetEndpoints(t, ns, "web", bs[0].Port, epsOf(bs...))
	host := ns + ".deploy.kube.test" // Ferry watches every namespace here: other tests' Ingresses too
	k.Apply(t, strings.Replace(ingressYAML(ns, "web", host, "web", nil), "spec:\n", "spec:\n  ingressClassName: ferry\n", 1))
	k.Apply(t, ingressYAML(ns, "typo", "typo."+host, "web", map[string]string{"ferry.ingress.kubernetes.io/router.priorty": "1"}))

	podFerry := func(t *testing.T) *Ferry {
		secure := freeAddr(t)
		f := StartFerry(t, Options{Static: func(f *Ferry) string {
			r := strings.NewReplacer(`":8000"`, fmt.Sprintf("%q", f.Web), `":8443"`, fmt.Sprintf("%q", secure), `":8081"`, fmt.Sprintf("%q", f.API))
			return r.Replace(static)
		}})
		t.Cleanup(func() { checkNoKlog(t, f.Logs()) })
		return f
	}

	t.Run("all permissions", func(t *testing.T) {
		f := podFerry(t)
		f.WaitRoute(host, "/", http.StatusOK, "deploy-0")
		k.WaitIngressStatus(t, ns, "web", kubeBackendIPs[4])
		deadline := time.Now().Add(waitTimeout)
		for !k.hasWarningEvent(t, ns, "typo", "router.priorty") {
			if time.Now().After(deadline) {
				t.Fatalf("no Warning event recorded with the ServiceAccount's token")
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		for _, line := range strings.Split(f.Logs(), "\n") {
			if strings.Contains(line, "forbidden") || strings.Contains(line, "not allowed") || strings.Contains(line, "refused Ferry's credentials") {
				t.Errorf("ferry logged with the manifests' permissions: %s", line)
			}
		}
	})

	t.Run("least privilege", func(t *testing.T) {
		allowed := map[string][]string{
			"list,watch": {"networking.k8s.io/ingresses", "networking.k8s.io/ingressclasses", "/services", "/secrets",
				"discovery.k8s.io/endpointslices", "/namespaces"},
			"get,list,watch": {"gateway.networking.k8s.io/gatewayclasses", "gateway.networking.k8s.io/gateways",
				"gateway.networking.k8s.io/httproutes", "gateway.networking.k8s.io/grpcroutes", "gateway.networking.k8s.io/tlsroutes",
				"gateway.networking.k8s.io/tcproutes", "gateway.networking.k8s.io/udproutes", "gateway.networking.k8s.io/referencegrants"},
			"update": {"networking.k8s.io/ingresses/status", "gateway.networking.k8s.io/gatewayclasses/status",
				"gateway.networking.k8s.io/gateways/status", "gateway.networking.k8s.io/httproutes/status"},
			"create,patch": {"/events"},
		}
		denied := map[string][]string{
			"get":            {"/secrets", "networking.k8s.io/ingresses"},
			"create,delete":  {"networking.k8s.io/ingresses", "/services", "discovery.k8s.io/endpointslices"},
			"update":         {"networking.k8s.io/ingresses", "/secrets", "gateway.networking.k8s.io/httproutes"},
			"list":           {"/configmaps", "/pods"},
			"create,update":  {"/serviceaccounts/token", "/secrets"},
			"escalate,bind":  {"rbac.authorization.k8s.io/clusterroles"},
			"impersonate":    {"/serviceaccounts"},
			"get,list,watch": {"apps/deployments"},
		}
		for verbs, resources := range allowed {
			for _, res := range resources {
				for _, verb := range strings.Split(verbs, ",") {
					if !k.saCan(t, verb, res) {
						t.Errorf("the ServiceAccount may not %s %s", verb, res)
					}
				}
			}
		}
		for verbs, resources := range denied {
			for _, res := range resources {
				for _, verb := range strings.Split(verbs, ",") {
					if k.saCan(t, verb, res) {
						t.Errorf("the ServiceAccount may %s %s, which no provider needs", verb, res)
					}
				}
			}
		}
	})

	tests := []struct {
		name, rule, replaced, want string
	}{
		{"without list on secrets", `    resources: ["services", "secrets"]`, `    resources: ["services"]`,
			`not allowed to list/watch secrets`},
		{"without update on ingresses/status", `    resources: ["ingresses/status"]`, `    resources: ["ingresses/scale"]`,
			`not allowed to update the status of ingress/` + ns + `/web`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(manifests), tt.rule) {
				t.Fatalf("the manifests no longer hold %q", tt.rule)
			}
			k.Apply(t, strings.Replace(string(manifests), tt.rule, tt.replaced, 1))
			// Statuses are written only when they differ: clear them.
			if ing, err := k.Client.NetworkingV1().Ingresses(ns).Get(kubeCtx(t), "web", metav1.GetOptions{}); err == nil {
				ing.Status.LoadBalancer.Ingress = nil
				_, _ = k.Client.NetworkingV1().Ingresses(ns).UpdateStatus(kubeCtx(t), ing, metav1.UpdateOptions{})
			}
			f := podFerry(t)
			line := f.WaitLog(0, tt.want, func(l string) bool { return strings.Contains(l, tt.want) })
			if !strings.Contains(line, `"level":"error"`) {
				t.Errorf("not logged as an error: %s", line)
			}
			t.Logf("ferry says: %s", line)
		})
	}
}

// podCredentials writes what a pod of the Deployment would find in saDir:
// a token of ServiceAccount ferry/ferry (TokenRequest API), the CA and the
// namespace. saDir is on the private /run of test/kubernetes/netns.sh.
func (k *kubeCluster) podCredentials(t *testing.T) {
	t.Helper()
	exp := int64(3600)
	tr, err := k.Client.CoreV1().ServiceAccounts("ferry").CreateToken(kubeCtx(t), "ferry",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for serviceaccount ferry/ferry: %v", err)
	}
	ca, err := os.ReadFile(k.CA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(saDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": ca, "namespace": []byte("ferry")} {
		if err := os.WriteFile(filepath.Join(saDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// hasWarningEvent reports whether a Warning event about object name in ns
// mentions text.
func (k *kubeCluster) hasWarningEvent(t *testing.T, ns, name, text string) bool {
	evs, err := k.Client.CoreV1().Events(ns).List(kubeCtx(t), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		return false
	}
	for _, e := range evs.Items {
		if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// saCan asks the API server whether ServiceAccount ferry/ferry may do verb
// on res ("group/resource[/subresource]", "" group for the core API), in
// any namespace.
func (k *kubeCluster) saCan(t *testing.T, verb, res string) bool {
	t.Helper()
	group, rest, _ := strings.Cut(res, "/")
	resource, sub, _ := strings.Cut(rest, "/")
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:ferry:ferry",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ferry", "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Subresource: sub,
			Namespace: "default"},
	}}
	got, err := k.Client.AuthorizationV1().SubjectAccessReviews().Create(kubeCtx(t), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("access review %s %s: %v", verb, res, err)
	}
	return got.Status.Allowed
}
