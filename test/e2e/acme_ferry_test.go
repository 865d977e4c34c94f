package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// acmeFerry is a ferry process with two entry points, "web" (plain,
// HTTP-01, redirected to websecure) and "websecure" (TLS), and two
// certificate resolvers on one Pebble: "pebble-http" (HTTP-01 only) and
// "pebble-tls" (TLS-ALPN-01 only).
type acmeFerry struct {
	t                testing.TB
	Web, Secure, API string
	Dir              string // static file, dynamic file and certificate storage
	DynPath          string
	StaticPath       string
	// Env are extra environment variables (NAME=value) for the process.
	Env []string

	// process is the latest run of the binary.
	*process
}

// newACMEFerryFiles chooses the addresses and writes the configuration of
// a ferry using the CA ca returns for its ports; it does not start it.
// storage is the resolvers' storage, a directory of its own when empty;
// providers, indented under "providers:", are added to the file provider.
func newACMEFerryFiles(t testing.TB, ca func(web, secure string) *pebbleCA, storage, dynamic string, providers ...string) (*acmeFerry, *pebbleCA) {
	t.Helper()
	dir := t.TempDir()
	f := &acmeFerry{t: t, Web: freeAddr(t), Secure: freeAddr(t), API: freeAddr(t), Dir: dir,
		DynPath: filepath.Join(dir, "dynamic.yaml"), StaticPath: filepath.Join(dir, "ferry.yaml")}
	_, webPort, _ := net.SplitHostPort(f.Web)
	_, securePort, _ := net.SplitHostPort(f.Secure)
	p := ca(webPort, securePort)
	if storage == "" {
		storage = filepath.Join(dir, "acme")
	}
	resolver := func(challenge string) string {
		return fmt.Sprintf(`    acme:
      email: ops@ferry.test
      caServer: %q
      storage: %q
      caCertificates: [%q]
      %s
`, p.Directory, storage, p.ListenerCA, challenge)
	}
	static := fmt.Sprintf(`entryPoints:
  web:
    address: %q
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
  websecure:
    address: %q
    http:
      tls: {}
providers:
  debounce: 20ms
  maxWait: 200ms
  file:
    filename: %q
%sapi:
  insecure: true
  address: %q
log:
  level: info
  format: json
certificatesResolvers:
  pebble-http:
%s  pebble-tls:
%s`, f.Web, f.Secure, f.DynPath, strings.Join(providers, ""), f.API, resolver("httpChallenge: {entryPoint: web}"), resolver("tlsChallenge: {}"))
	if err := os.WriteFile(f.StaticPath, []byte(static), 0o600); err != nil {
		t.Fatal(err)
	}
	f.writeDynamic(dynamic)
	return f, p
}

// start runs the binary and waits for its API.
func (f *acmeFerry) start() {
	f.t.Helper()
	f.launch()
	f.waitReady()
}

// launch runs the binary; it is killed when the test ends.
func (f *acmeFerry) launch() {
	f.t.Helper()
	f.process = startFerryProcessEnv(f.t, f.StaticPath, "", f.Env)
}

// waitReady waits until the API answers /ping.
func (f *acmeFerry) waitReady() {
	t := f.t
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := http.Get("http://" + f.API + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The CA validates HTTP challenges on the web entry
				// point, which may open just after the API.
				var conn net.Conn
				if conn, err = net.DialTimeout("tcp", f.Web, time.Second); err == nil {
					conn.Close()
					return
				}
			}
		}
		select {
		case <-f.done:
			t.Fatalf("ferry exited before answering /ping:\n%s", f.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry API not ready within %s: %v", waitTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM and waits for it.
func (f *acmeFerry) stop() {
	f.t.Helper()
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(15 * time.Second):
		f.t.Fatalf("ferry did not stop within 15s")
	}
}

func (f *acmeFerry) writeDynamic(data string) {
	f.t.Helper()
	tmp := f.DynPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.DynPath); err != nil {
		f.t.Fatal(err)
	}
}

// crash kills the process without letting it clean up.
func (f *acmeFerry) crash() {
	_ = f.cmd.Process.Kill()
	<-f.done
}

// Logs returns the process's log so far.
func (f *acmeFerry) Logs() string { return f.stderr.String() }

// handshake connects to websecure with SNI name and returns the served
// chain, unverified.
func (f *acmeFerry) handshake(name string) ([]*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", f.Secure, &tls.Config{ServerName: name, InsecureSkipVerify: true}) // verified by the caller
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates, nil
}

// verify checks a served chain against roots for name.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, name string) error {
	if len(chain) == 0 {
		return fmt.Errorf("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
	return err
}

// waitValid polls until websecure serves name a certificate chained to
// roots and returns how long that took.
func (f *acmeFerry) waitValid(name string, roots *x509.CertPool, within time.Duration) time.Duration {
	f.t.Helper()
	start := time.Now()
	var last error
	for {
		chain, err := f.handshake(name)
		if err == nil {
			if err = verifyChain(chain, roots, name); err == nil {
				return time.Since(start)
			}
		}
		last = err
		if time.Since(start) > within {
			f.t.Fatalf("no valid certificate for %s within %s: %v", name, within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpsGet sends GET https://name/path through websecure, verifying the
// certificate against roots.
func (f *acmeFerry) httpsGet(name, path string, roots *x509.CertPool) (*http.Response, []byte, error) {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, f.Secure)
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("https://" + name + path)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// apiGet decodes an API answer into v.
func (f *acmeFerry) apiGet(path string, v any) {
	f.t.Helper()
	if err := f.apiTry(path, v); err != nil {
		f.t.Fatal(err)
	}
}

// apiTry decodes an API answer into v, or says why it could not.
func (f *acmeFerry) apiTry(path string, v any) error {
	resp, err := http.Get("http://" + f.API + path)
	if err != nil {
		return fmt.Errorf("API GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("API GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("API GET %s: %w: %s", path, err, body)
	}
	return nil
}

// countLines counts log lines containing every one of subs.
func countLines(logs string, subs ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if containsAll(line, subs...) {
			n++
		}
	}
	return n
}

// acmeBackend starts an echo backend named name until the test ends.
func acmeBackend(t testing.TB, name string) string {
	srv := newLoopbackServer(t, echo.Handler(name))
	t.Cleanup(srv.Close)
	return srv.URL
}

// acmeRouters renders routers for hosts, each with resolver, in front of
// the service "app" at backend.
func acmeRouters(backend string, resolver map[string]string) string {
	var b strings.Builder
	b.WriteString("http:\n  routers:\n")
	for _, host := range sortedHosts(resolver) {
		fmt.Fprintf(&b, "    %s:\n      rule: \"Host(`%s`)\"\n      service: app\n      tls:\n        certResolver: %s\n",
			strings.NewReplacer(".", "-").Replace(host), host, resolver[host])
	}
	fmt.Fprintf(&b, "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: %s\n", backend)
	return b.String()
}

func sortedHosts(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
