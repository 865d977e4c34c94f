package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// The Gateway API tests install the standard channel's CRDs once per test
// binary, from the sigs.k8s.io/gateway-api module Ferry builds with.
var (
	gatewayCRDsOnce sync.Once
	gatewayCRDsErr  error
)

// gatewayCRDDir returns config/crd/standard of the gateway-api module:
// $FERRY_GATEWAY_CRDS when set, else the module cache (go list works
// offline once the module is downloaded, as it is for the build).
func gatewayCRDDir() (string, error) {
	if d := os.Getenv("FERRY_GATEWAY_CRDS"); d != "" {
		return d, nil
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("gateway-api module: %w (set FERRY_GATEWAY_CRDS to its config/crd/standard)", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard"), nil
}

// GatewayAPI installs the Gateway API CRDs (once) and returns a client.
func (k *kubeCluster) GatewayAPI(t *testing.T) gwclient.Interface {
	t.Helper()
	gatewayCRDsOnce.Do(func() {
		dir, err := gatewayCRDDir()
		if err != nil {
			gatewayCRDsErr = err
			return
		}
		files, _ := filepath.Glob(filepath.Join(dir, "gateway.networking.k8s.io_*.yaml"))
		args := []string{"apply", "--server-side"}
		for _, f := range files {
			args = append(args, "-f", f)
		}
		if out, err := k.kubectlRun("", args...); err != nil {
			gatewayCRDsErr = fmt.Errorf("apply Gateway API CRDs: %w\n%s", err, out)
			return
		}
		if out, err := k.kubectlRun("", "wait", "--for", "condition=Established", "--timeout", "60s",
			"crd/gateways.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io",
			"crd/gatewayclasses.gateway.networking.k8s.io", "crd/referencegrants.gateway.networking.k8s.io"); err != nil {
			gatewayCRDsErr = fmt.Errorf("wait for Gateway API CRDs: %w\n%s", err, out)
		}
	})
	if gatewayCRDsErr != nil {
		t.Fatal(gatewayCRDsErr)
	}
	c, err := gwclient.NewForConfig(&rest.Config{Host: k.URL, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: k.CA}, QPS: 200, Burst: 400})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gatewayFerry is a Ferry with the Gateway API provider, its entry point
// web and an HTTPS entry point websecure.
type gatewayFerry struct {
	*Ferry
	// Secure is the address of the entry point websecure.
	Secure string
	// WebPort and SecurePort are the entry points' ports, which Gateway
	// listeners name.
	WebPort, SecurePort string
}

// StartGatewayFerry starts Ferry with the Gateway API provider watching
// namespaces, reporting 192.0.2.10 as the Gateways' address, and waits
// until the provider has synchronized.
func (k *kubeCluster) StartGatewayFerry(t *testing.T, namespaces ...string) *gatewayFerry {
	t.Helper()
	secure := reservedAddr(t, false)
	q := make([]string, len(namespaces))
	for i, n := range namespaces {
		q[i] = fmt.Sprintf("%q", n)
	}
	f := StartFerry(t, Options{
		EntryPoints: fmt.Sprintf("  websecure:\n    address: %q\n", secure),
		Providers: fmt.Sprintf(`  kubernetesGateway:
    endpoint: %q
    token: %q
    certAuthFilePath: %q
    namespaces: [%s]
    statusAddress:
      ip: %s
`, k.URL, k.Token, k.CA, strings.Join(q, ", "), kubeBackendIPs[0]),
	})
	f.WaitLog(0, "kubernetesGateway: synchronized", func(l string) bool {
		return strings.Contains(l, "kubernetesGateway: synchronized")
	})
	return &gatewayFerry{Ferry: f, Secure: secure, WebPort: portOf(t, f.Web), SecurePort: portOf(t, secure)}
}

// DoTLS sends a GET through the entry point websecure with SNI and Host
// host, trusting only roots.
func (g *gatewayFerry) DoTLS(host, path string, roots *x509.CertPool) (*Result, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: host, RootCAs: roots}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, "https://"+g.Secure+path, nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &Result{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// gatewayCert makes a certificate for names and returns the TLS Secret
// holding it and a pool trusting it.
func gatewayCert(t *testing.T, ns, name string, names ...string) (*corev1.Secret, *x509.CertPool) {
	t.Helper()
	cert, key, err := kubeSelfSigned(names[0], names, false)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": pemBlock("CERTIFICATE", cert.Raw), "tls.key": pemBlock("EC PRIVATE KEY", keyDER)},
	}, pool
}

// gatewayClassYAML is a GatewayClass of Ferry's controller.
func gatewayClassYAML(name string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: %s
spec:
  controllerName: ferryproxy.io/gateway-controller
`, name)
}

// conditionsString shows conditions as Type=Status/Reason.
func conditionsString(cs []metav1.Condition) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s=%s/%s (%s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, ", ")
}

// WaitRouteCondition waits until the HTTPRoute's status from Ferry for its
// first parent has the condition typ with status and reason.
func WaitRouteCondition(t *testing.T, c gwclient.Interface, ns, name, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	waitFor(t, waitTimeout, fmt.Sprintf("HTTPRoute %s/%s %s=%s/%s", ns, name, typ, status, reason), func() (bool, string) {
		r, err := c.GatewayV1().HTTPRoutes(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range r.Status.Parents {
			if p.ControllerName != "ferryproxy.io/gateway-controller" {
				continue
			}
			cond := meta.FindStatusCondition(p.Conditions, typ)
			ok := cond != nil && cond.Status == status && cond.Reason == reason && cond.ObservedGeneration == r.Generation
			return ok, conditionsString(p.Conditions)
		}
		return false, "no parent status from Ferry"
	})
}

// gatewayReady reports whether a Gateway is Programmed with the listeners'
// attached routes given (by listener name).
func gatewayReady(g *gwv1.Gateway, attached map[string]int32) (bool, string) {
	state := conditionsString(g.Status.Conditions)
	if !meta.IsStatusConditionTrue(g.Status.Conditions, "Programmed") || !meta.IsStatusConditionTrue(g.Status.Conditions, "Accepted") {
		return false, state
	}
	got := map[string]int32{}
	for _, l := range g.Status.Listeners {
		got[string(l.Name)] = l.AttachedRoutes
		state += fmt.Sprintf("; listener %s: %d routes, %s", l.Name, l.AttachedRoutes, conditionsString(l.Conditions))
		if !meta.IsStatusConditionTrue(l.Conditions, "Programmed") {
			return false, state
		}
	}
	for n, want := range attached {
		if got[n] != want {
			return false, state
		}
	}
	return true, state
}
