package e2e

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeCertPEM makes a self-signed certificate for names and returns it and
// its key as PEM, with the parsed certificate.
func kubeCertPEM(t *testing.T, names ...string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	cert, key, err := kubeSelfSigned(names[0], names, false)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", cert.Raw), pemBlock("EC PRIVATE KEY", der), cert
}

// servedCert returns the certificate Ferry presents for serverName.
func servedCert(t *testing.T, addr, serverName string) *x509.Certificate {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s for %s: %v", addr, serverName, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// httpsGet sends GET https://host/ through addr, trusting only ca.
func httpsGet(t *testing.T, addr, host string, ca *x509.Certificate) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("GET https://%s/: %v", host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend")
}

// TestKubeIngressTLS: a TLS Ingress whose Secret holds a certificate is
// served with it (and only over TLS, as in Traefik); the Secret updated,
// the next handshake presents the new certificate.
func TestKubeIngressTLS(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	bs := startKubeBackends(t, "tls", 1)
	k.CreateService(t, ns, "web", bs[0].Port, nil)
	k.SetEndpoints(t, ns, "web", bs[0].Port, epsOf(bs...))
	f := k.StartFerry(t, ns, Options{}, "")
	host := "tls.kube.test"
	certA, keyA, a := kubeCertPEM(t, host)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-cert", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certA, corev1.TLSPrivateKeyKey: keyA}}
	if _, err := k.Client.CoreV1().Secrets(ns).Create(kubeCtx(t), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.Apply(t, fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure, namespace: %s}
spec:
  tls: [{hosts: [%s], secretName: tls-cert}]
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, ns, host, host))
	deadline := time.Now().Add(waitTimeout)
	for servedCert(t, f.Web, host).SerialNumber.Cmp(a.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the Secret's certificate is not served within %s", waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, backend := httpsGet(t, f.Web, host, a); code != http.StatusOK || backend != "tls-0" {
		t.Errorf("GET https://%s/: %d from %q", host, code, backend)
	}
	if res := f.Get(host, "/"); res.Status != http.StatusNotFound {
		t.Errorf("plain HTTP to a TLS Ingress answered %d, want 404 (TLS routers serve TLS only)", res.Status)
	}

	certB, keyB, b := kubeCertPEM(t, host)
	secret.Data = map[string][]byte{corev1.TLSCertKey: certB, corev1.TLSPrivateKeyKey: keyB}
	start := time.Now()
	if _, err := k.Client.CoreV1().Secrets(ns).Update(kubeCtx(t), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for servedCert(t, f.Web, host).SerialNumber.Cmp(b.SerialNumber) != 0 {
		if time.Since(start) > waitTimeout {
			t.Fatalf("the updated certificate is not served within %s", waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("Secret updated → new certificate served after %s", time.Since(start).Round(time.Millisecond))
	if code, _ := httpsGet(t, f.Web, host, b); code != http.StatusOK {
		t.Errorf("GET https://%s/ with the new certificate: %d", host, code)
	}
}

// TestKubeTraefikAnnotations: an Ingress with Traefik's annotations (entry
// points, a middleware of Ferry's file provider, priority) serves as under
// Traefik.
func TestKubeTraefikAnnotations(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	bs := startKubeBackends(t, "ann", 2)
	k.CreateService(t, ns, "main", bs[0].Port, nil)
	k.SetEndpoints(t, ns, "main", bs[0].Port, epsOf(bs[0]))
	k.CreateService(t, ns, "api", bs[1].Port, nil)
	k.SetEndpoints(t, ns, "api", bs[1].Port, epsOf(bs[1]))
	other := freeAddr(t)
	sum := sha1.Sum([]byte("secret"))
	f := k.StartFerry(t, ns, Options{
		EntryPoints: fmt.Sprintf("  other:\n    address: %q\n", other),
		Dynamic: fmt.Sprintf(`http:
  middlewares:
    auth:
      basicAuth:
        users: ["alice:{SHA}%s"]
`, base64.StdEncoding.EncodeToString(sum[:])),
	}, "")
	host := "ann.kube.test"
	k.Apply(t, ingressYAML(ns, "main", host, "main", map[string]string{
		"traefik.ingress.kubernetes.io/router.entrypoints": "web",
		"traefik.ingress.kubernetes.io/router.middlewares": "auth@file",
		"traefik.ingress.kubernetes.io/router.priority":    "1000",
	}))
	k.Apply(t, fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: %s}
spec:
  rules:
  - host: %s
    http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]}
`, ns, host))
	f.WaitRoute(host, "/", http.StatusUnauthorized, "")
	get := func(addr, path string, auth bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Host = host
		if auth {
			req.SetBasicAuth("alice", "secret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", addr, path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Backend")
	}
	// The api Ingress serves on every entry point; wait for it on "other".
	deadline := time.Now().Add(waitTimeout)
	for {
		if code, _ := get(other, "/api", false); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the api Ingress is not served on the other entry point")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tests := []struct {
		name, addr, path string
		auth             bool
		code             int
		backend          string
	}{
		{"web, no credentials: auth@file answers", f.Web, "/", false, http.StatusUnauthorized, ""},
		{"web, credentials", f.Web, "/", true, http.StatusOK, "ann-0"},
		{"web, /api: priority 1000 beats the longer rule", f.Web, "/api", true, http.StatusOK, "ann-0"},
		{"other entry point: main is on web only", other, "/", true, http.StatusNotFound, ""},
		{"other entry point, /api: the api Ingress, no auth", other, "/api", false, http.StatusOK, "ann-1"},
	}
	for _, tt := range tests {
		if code, backend := get(tt.addr, tt.path, tt.auth); code != tt.code || backend != tt.backend {
			t.Errorf("%s: %d from %q, want %d from %q", tt.name, code, backend, tt.code, tt.backend)
		}
	}
}
