package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The Kubernetes tests share one etcd and one kube-apiserver per test binary
// run, started by the first test that needs them, inside the network
// namespace test/kubernetes/netns.sh made (FERRY_KUBE_NETNS=1). Each test
// works in a namespace of its own and starts a Ferry that watches only it.
// The tests do not run in parallel: one stops the API server.

// kubeBackendIPs are the addresses netns.sh puts on the namespace's lo;
// backends listen there, since the API server refuses loopback endpoints.
var kubeBackendIPs = []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"}

// kubeAdvertiseIP is the API server's advertised address (on the netns lo).
const kubeAdvertiseIP = "192.0.2.29"

var (
	kubeOnce   sync.Once
	kubeShared *kubeCluster
	kubeErr    error
	kubeNSSeq  atomic.Int64
)

// kubeCluster is the shared etcd + kube-apiserver.
type kubeCluster struct {
	dir string
	// URL is the API server's address, https://127.0.0.1:<port>.
	URL string
	// Port is its port.
	Port int
	// CA is the file of the CA that signed the API server's certificate.
	CA string
	// Token is an administrator's bearer token (group system:masters).
	Token string
	// Kubeconfig is a kubeconfig file for kubectl with that token.
	Kubeconfig string
	// Client is an administrator's clientset.
	Client *kubernetes.Clientset

	kubectl   string
	apiserver string
	apiArgs   []string
	api       *kubeProc
	etcd      *kubeProc
}

// kubeProc is a running child process.
type kubeProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

func startKubeProc(bin string, args ...string) (*kubeProc, error) {
	p := &kubeProc{cmd: exec.Command(bin, args...), done: make(chan struct{}), logs: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *kubeProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 10 s) and waits.
func (p *kubeProc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kube returns the shared cluster, starting it the first time; it skips
// the test outside the network namespace of test/kubernetes/netns.sh.
func Kube(t *testing.T) *kubeCluster {
	t.Helper()
	if os.Getenv("FERRY_KUBE_NETNS") != "1" {
		t.Skip("the Kubernetes tests run inside test/kubernetes/netns.sh (make e2e), which sets FERRY_KUBE_NETNS=1")
	}
	kubeOnce.Do(func() {
		kubeErr = errors.New("kube: harness start aborted")
		start := time.Now()
		kubeShared, kubeErr = startKube(t)
		if kubeErr == nil {
			t.Logf("kube: etcd and kube-apiserver ready in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	return kubeShared
}

// startKube starts etcd and kube-apiserver on loopback and waits for /readyz.
func startKube(t *testing.T) (*kubeCluster, error) {
	binDir := os.Getenv("FERRY_KUBE_BIN_DIR")
	if binDir == "" {
		return nil, errors.New("kube: FERRY_KUBE_BIN_DIR is not set (test/kubernetes/ensure-kube.sh prints it)")
	}
	etcdBin := os.Getenv("FERRY_ETCD_BIN")
	if etcdBin == "" {
		return nil, errors.New("kube: FERRY_ETCD_BIN is not set (test/etcd/ensure-etcd.sh prints it)")
	}
	dir, err := os.MkdirTemp("", "kube-")
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	k := &kubeCluster{dir: dir, kubectl: filepath.Join(binDir, "kubectl"), apiserver: filepath.Join(binDir, "kube-apiserver"),
		Token: "ferry-e2e-admin-" + randHex(8)}
	if err := k.writePKI(); err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(k.Token+`,admin,admin-uid,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	etcdPort, peerPort := freePort(t), freePort(t)
	client := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	k.etcd, err = startKubeProc(etcdBin, "--name", "kube", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "kube="+peer, "--logger", "zap", "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	k.Port = freePort(t)
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", k.Port)
	k.apiArgs = []string{
		"--etcd-servers", client,
		"--bind-address", "127.0.0.1", "--advertise-address", kubeAdvertiseIP,
		"--secure-port", fmt.Sprint(k.Port),
		"--tls-cert-file", filepath.Join(dir, "apiserver.crt"), "--tls-private-key-file", filepath.Join(dir, "apiserver.key"),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--endpoint-reconciler-type", "none",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=0",
	}
	if err := k.startAPIServer(); err != nil {
		return nil, err
	}
	cfg := &rest.Config{Host: k.URL, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: k.CA}, QPS: 200, Burst: 400}
	if k.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("kube: client: %w", err)
	}
	k.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: e2e, context: {cluster: e2e, user: admin}}]
current-context: e2e
`, k.URL, k.CA, k.Token)
	if err := os.WriteFile(k.Kubeconfig, []byte(kc), 0o600); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	return k, nil
}

// startAPIServer starts kube-apiserver and waits until /readyz answers ok.
func (k *kubeCluster) startAPIServer() error {
	p, err := startKubeProc(k.apiserver, k.apiArgs...)
	if err != nil {
		return err
	}
	k.api = p
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(k.CA)
	if err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(90 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("kube: kube-apiserver exited at start:\n%s", tail(p.logs.String(), 6000))
		}
		req, _ := http.NewRequest(http.MethodGet, k.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+k.Token)
		resp, err := hc.Do(req)
		if err == nil {
			body := new(bytes.Buffer)
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("status %d: %s", resp.StatusCode, tail(body.String(), 400))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kube: kube-apiserver not ready within 90s (%s):\n%s", last, tail(p.logs.String(), 6000))
}

// StopAPIServer stops the API server (etcd keeps running).
func (k *kubeCluster) StopAPIServer(t *testing.T) {
	t.Helper()
	k.api.stop()
}

// StartAPIServer starts the API server again on the same port and data.
func (k *kubeCluster) StartAPIServer(t *testing.T) {
	t.Helper()
	if err := k.startAPIServer(); err != nil {
		t.Fatal(err)
	}
}

// Namespace creates a namespace for the test, named after it.
func (k *kubeCluster) Namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(normalizeName(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), kubeNSSeq.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := k.Client.CoreV1().Namespaces().Create(kubeCtx(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// Kubectl runs kubectl with stdin and returns its output; a failure fails the test.
func (k *kubeCluster) Kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := k.kubectlRun(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (k *kubeCluster) kubectlRun(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.kubectl, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HOME="+k.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Apply applies YAML with kubectl.
func (k *kubeCluster) Apply(t *testing.T, yaml string) {
	t.Helper()
	k.Kubectl(t, yaml, "apply", "-f", "-")
}

// kubeCtx is a context for one API call of a test.
func kubeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// normalizeName keeps letters and digits, joining the rest with '-'.
func normalizeName(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}), "-")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// writePKI writes the CA, the API server's certificate and the service
// account signing key.
func (k *kubeCluster) writePKI() error {
	ca, caKey, err := kubeSelfSigned("ferry e2e kube CA", nil, true)
	if err != nil {
		return err
	}
	k.CA = filepath.Join(k.dir, "ca.crt")
	srv, srvKey, err := kubeIssue(ca, caKey, "kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubeAdvertiseIP), net.ParseIP("10.96.0.1")})
	if err != nil {
		return err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	saDER, _ := x509.MarshalECPrivateKey(sa)
	saPub, _ := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	files := map[string][]byte{
		"ca.crt":        pemBlock("CERTIFICATE", ca.Raw),
		"apiserver.crt": pemBlock("CERTIFICATE", srv),
		"apiserver.key": srvKey,
		"sa.key":        pemBlock("EC PRIVATE KEY", saDER),
		"sa.pub":        pemBlock("PUBLIC KEY", saPub),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(k.dir, name), data, 0o600); err != nil {
			return fmt.Errorf("kube: %w", err)
		}
	}
	return nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// kubeSelfSigned makes a self-signed ECDSA certificate (a CA when isCA).
func kubeSelfSigned(cn string, names []string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("kube: key: %w", err)
	}
	tmpl := kubeTemplate(cn, names, nil)
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("kube: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// kubeIssue makes a server certificate signed by ca; it returns the DER
// certificate and the PEM key.
func kubeIssue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, names []string, ips []net.IP) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("kube: key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, kubeTemplate(cn, names, ips), ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("kube: certificate: %w", err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return der, pemBlock("EC PRIVATE KEY", keyDER), nil
}

func kubeTemplate(cn string, names []string, ips []net.IP) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}
