package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/ferryproxy/ferry/test/echo"
)

// h3Setup is a Ferry whose entry point "websecure" serves HTTP/3, in
// front of one backend, with a certificate for app.test and secret.test.
type h3Setup struct {
	*Ferry
	websecure string // host:port, TCP and UDP
	roots     *x509.CertPool
	big       []byte // what the backend's /big answers
	pid       int    // Ferry's process (the benchmark's)
}

// startH3Ferry starts the setup; hold, when set, serves the backend's /hold.
func startH3Ferry(t *testing.T, hold http.HandlerFunc) *h3Setup {
	t.Helper()
	big := make([]byte, 12<<20+123) // more than 10 MB, not a multiple of any frame size
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	extra := map[string]http.HandlerFunc{
		"/big": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Backend", "a")
			_, _ = w.Write(big)
		},
		"/sum": func(w http.ResponseWriter, r *http.Request) { // the upload's size and digest
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		},
	}
	if hold != nil {
		extra["/hold"] = hold
	}
	a := StartBackend(t, "a", extra)
	cert, certPath, keyPath := selfSigned(t, t.TempDir(), "app.test", "secret.test")
	websecure := reservedAddr(t, true) // free for TCP and UDP
	f := StartFerry(t, Options{
		EntryPoints: fmt.Sprintf("  websecure:\n    address: %q\n    http3: {}\n    transport:\n      lifeCycle:\n        graceTimeOut: 10s\n", websecure),
		Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      entryPoints: [websecure]
      service: a
      middlewares: [hdr]
      tls: {}
    secret:
      rule: "Host('secret.test')"
      entryPoints: [websecure]
      service: a
      middlewares: [auth]
      tls: {}
  middlewares:
    hdr:
      headers:
        customRequestHeaders:
          X-Env: prod
        customResponseHeaders:
          X-Served-By: ferry
    auth:
      basicAuth:
        users: ["apr:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"]
        realm: staff
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
tls:
  certificates:
    - certFile: %q
      keyFile: %q
`, a.URL, certPath, keyPath)})
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	s := &h3Setup{Ferry: f, websecure: websecure, roots: roots, big: big}
	s.waitApp(t)
	return s
}

// waitApp waits until app.test answers 200 over HTTP/3.
func (s *h3Setup) waitApp(t testing.TB) {
	t.Helper()
	c := s.h3Client(t)
	defer func() { _ = c.Transport.(*http3.Transport).Close() }()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := c.Get("https://app.test/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://app.test/ over HTTP/3 not served within %s: %v", waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startH3FerryBench starts Ferry as the benchmark sees it: HTTP/3 on the
// entry point websecure, a router for app.test (TLS, Ferry's default
// certificate) to a backend that answers a short text, log level warn.
func startH3FerryBench(b *testing.B) *h3Setup {
	dir := b.TempDir()
	backend := newLoopbackServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from the backend\n")
	}))
	b.Cleanup(backend.Close)
	websecure, api := reservedAddr(b, true), freeAddr(b)
	dynPath, static := filepath.Join(dir, "dyn.yaml"), filepath.Join(dir, "ferry.yaml")
	lbWrite(b, dynPath, dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: %q
`, backend.URL))
	lbWrite(b, static, fmt.Sprintf("entryPoints:\n  websecure:\n    address: %q\n    http3: {}\n"+
		"providers:\n  file:\n    filename: %q\napi:\n  insecure: true\n  address: %q\nlog:\n  level: warn\n", websecure, dynPath, api))
	p := startFerryProcess(b, static, "")
	s := &h3Setup{websecure: websecure, pid: p.cmd.Process.Pid}
	s.waitApp(b)
	return s
}

// tlsConfig verifies Ferry's certificate against the setup's roots, or
// not at all without them (the benchmark's default certificate).
func (s *h3Setup) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, InsecureSkipVerify: s.roots == nil}
}

// h3Client is quic-go's HTTP/3 client, sending every name to Ferry.
func (s *h3Setup) h3Client(t testing.TB) *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: s.tlsConfig(),
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, s.websecure, tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// tcpClient is an HTTPS client over TCP (HTTP/2 when h2, else HTTP/1.1),
// sending every name to Ferry.
func (s *h3Setup) tcpClient(t testing.TB, h2 bool) *http.Client {
	proto := "http/1.1"
	if h2 {
		proto = "h2"
	}
	cfg := s.tlsConfig()
	cfg.NextProtos = []string{proto}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.websecure)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestHTTP3(t *testing.T) {
	t.Parallel()
	s := startH3Ferry(t, nil)
	h3 := s.h3Client(t)

	t.Run("200 over HTTP/3 with the router's middlewares", func(t *testing.T) {
		resp, err := h3.Get("https://app.test/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e echo.Response
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ProtoMajor != 3 || resp.Header.Get("X-Backend") != "a" {
			t.Fatalf("%s %d from %q, want HTTP/3 200 from a", resp.Proto, resp.StatusCode, resp.Header.Get("X-Backend"))
		}
		if got := resp.Header.Get("X-Served-By"); got != "ferry" {
			t.Errorf("response header X-Served-By %q, want ferry (headers middleware)", got)
		}
		if got := e.Header("X-Env"); got != "prod" {
			t.Errorf("the server saw X-Env %q, want prod (headers middleware)", got)
		}
		if got := e.Header("X-Forwarded-Proto"); got != "https" {
			t.Errorf("the server saw X-Forwarded-Proto %q, want https", got)
		}
		if e.Host != "app.test" || e.Path != "/x" {
			t.Errorf("the server saw %s%s", e.Host, e.Path)
		}
		if !resp.TLS.PeerCertificates[0].Equal(s.tcpCert(t)) {
			t.Error("HTTP/3 and TLS over TCP serve different certificates")
		}
	})

	t.Run("basicAuth refuses without credentials", func(t *testing.T) {
		resp, err := h3.Get("https://secret.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="staff"` {
			t.Fatalf("no credentials: %d %q, want 401 with the realm", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		req, _ := http.NewRequest(http.MethodGet, "https://secret.test/", nil)
		req.SetBasicAuth("apr", "secret")
		resp, err = h3.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("with credentials: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("a response larger than 10 MB arrives intact", func(t *testing.T) {
		resp, err := h3.Get("https://app.test/big")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(got, s.big) {
			t.Fatalf("status %d, %d bytes (sha256 %x); want %d bytes (sha256 %x)", resp.StatusCode,
				len(got), sha256.Sum256(got), len(s.big), sha256.Sum256(s.big))
		}
	})

	t.Run("an upload arrives intact", func(t *testing.T) {
		body := s.big[:3<<20]
		resp, err := h3.Post("https://app.test/sum", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		sum := sha256.Sum256(body)
		if want := fmt.Sprintf("%d %s", len(body), hex.EncodeToString(sum[:])); string(got) != want {
			t.Fatalf("the server got %q, want %q", got, want)
		}
	})

	t.Run("Alt-Svc on HTTP/1.1 and HTTP/2 answers", func(t *testing.T) {
		want := fmt.Sprintf(`h3=":%s"; ma=2592000`, portOf(t, s.websecure))
		for _, h2 := range []bool{false, true} {
			resp, err := s.tcpClient(t, h2).Get("https://app.test/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if wantMajor := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != wantMajor {
				t.Fatalf("got %s, want HTTP/%d", resp.Proto, wantMajor)
			}
			if got := resp.Header.Values("Alt-Svc"); len(got) != 1 || got[0] != want {
				t.Errorf("%s: Alt-Svc %q, want %q", resp.Proto, got, want)
			}
		}
	})

	t.Run("open QUIC connections count as HTTP3", func(t *testing.T) {
		conns := func() int64 {
			var o struct {
				EntryPoints []struct {
					Name        string           `json:"name"`
					Connections map[string]int64 `json:"connections"`
				} `json:"entryPoints"`
			}
			s.APIGet("/api/overview", &o)
			for _, ep := range o.EntryPoints {
				if ep.Name == "websecure" {
					return ep.Connections["HTTP3"]
				}
			}
			return -1
		}
		before := conns()
		c := s.h3Client(t)
		resp, err := c.Get("https://app.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := conns(); n != before+1 {
			t.Errorf("HTTP3 connections %d with one more client connected, want %d", n, before+1)
		}
		_ = c.Transport.(*http3.Transport).Close()
		deadline := time.Now().Add(waitTimeout)
		for conns() != before {
			if time.Now().After(deadline) {
				t.Fatalf("HTTP3 connections %d after the client closed, want %d", conns(), before)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestHTTP3TLSOptions checks that HTTP/3 handshakes get the TLS options of
// their server name, as TLS over TCP does: a mutual TLS router is served
// over HTTP/3 with its middlewares to a client with a certificate and to
// no other, and a name whose options stop at TLS 1.2 gets no HTTP/3 (QUIC
// is TLS 1.3) while it is served over TCP.
func TestHTTP3TLSOptions(t *testing.T) {
	t.Parallel()
	pki := newPrivateCA(t, "Ferry test CA")
	clientsCA := newPrivateCA(t, "Ferry clients CA")
	_, serverCert, serverKey := pki.issue(t, x509.ExtKeyUsageServerAuth, "server", "mtls.test", "old.test")
	alice, _, _ := clientsCA.issue(t, x509.ExtKeyUsageClientAuth, "alice", "alice.clients.test")
	backend := StartBackend(t, "app", nil)
	websecure := reservedAddr(t, true)
	StartFerry(t, Options{
		EntryPoints: fmt.Sprintf("  websecure:\n    address: %q\n    http3: {}\n", websecure),
		Dynamic: dyn(`
http:
  routers:
    mtls:
      rule: Host('mtls.test')
      entryPoints: [websecure]
      service: app
      middlewares: [clientcert]
      tls: {options: mtls}
    old:
      rule: Host('old.test')
      entryPoints: [websecure]
      service: app
      tls: {options: tls12}
  middlewares:
    clientcert:
      passTLSClientCert:
        info:
          subject: {commonName: true}
  services:
    app:
      loadBalancer:
        servers:
          - url: %q
tls:
  certificates:
    - certFile: %q
      keyFile: %q
  options:
    mtls:
      clientAuth:
        caFiles: [%q]
        clientAuthType: RequireAndVerifyClientCert
    tls12:
      maxVersion: VersionTLS12
`, backend.URL, serverCert, serverKey, clientsCA.CAPath)})
	s := &h3Setup{websecure: websecure, roots: pki.Roots}
	withCert := func(c *tls.Config) { c.Certificates = []tls.Certificate{alice} }
	h3Get := func(host string, mod func(*tls.Config)) (*http.Response, []byte, error) {
		cfg := s.tlsConfig()
		if mod != nil {
			mod(cfg)
		}
		tr := &http3.Transport{TLSClientConfig: cfg,
			Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				return quic.DialAddr(ctx, websecure, tlsCfg, qc)
			}}
		defer tr.Close()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + "/")
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	deadline := time.Now().Add(waitTimeout)
	for { // wait for the routers
		resp, _, err := h3Get("mtls.test", withCert)
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://mtls.test/ over HTTP/3 with a client certificate not served within %s: %v %v", waitTimeout, resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("mutual TLS over HTTP/3, with the router's middlewares", func(t *testing.T) {
		resp, body, err := h3Get("mtls.test", withCert)
		if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 3 {
			t.Fatalf("with a client certificate: %v %v", resp, err)
		}
		var e echo.Response
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		if got := e.Header("X-Forwarded-Tls-Client-Cert-Info"); !strings.Contains(got, "alice") {
			t.Errorf("the server got X-Forwarded-Tls-Client-Cert-Info %q, want alice's subject (passTLSClientCert)", got)
		}
		if resp, _, err := h3Get("mtls.test", nil); err == nil {
			t.Fatalf("without a client certificate: %d, want the handshake refused", resp.StatusCode)
		}
	})

	t.Run("options that stop at TLS 1.2 leave the name on TCP", func(t *testing.T) {
		if resp, _, err := h3Get("old.test", nil); err == nil {
			t.Fatalf("HTTP/3 to old.test (maxVersion TLS 1.2): %d, want no handshake", resp.StatusCode)
		}
		resp, err := s.tcpClient(t, true).Get("https://old.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS.Version != tls.VersionTLS12 {
			t.Fatalf("over TCP: %d, TLS %x; want 200 over TLS 1.2", resp.StatusCode, resp.TLS.Version)
		}
	})
}

// tcpCert is the certificate Ferry serves app.test over TLS on TCP.
func (s *h3Setup) tcpCert(t *testing.T) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", s.websecure, &tls.Config{ServerName: "app.test", RootCAs: s.roots})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestHTTP3GracefulShutdown(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	hold := func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(15 * time.Second):
		}
		w.Header().Set("X-Backend", "a")
		_, _ = w.Write([]byte("done"))
	}
	s := startH3Ferry(t, hold)
	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := s.h3Client(t).Get("https://app.test/hold")
		if err != nil {
			answers <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers <- answer{resp.StatusCode, string(b), err}
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request did not reach the backend")
	}
	s.Signal(syscall.SIGTERM)

	// New HTTP/3 clients are refused while the request is in flight.
	late := s.h3Client(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://app.test/", nil)
		resp, err := late.Do(req)
		cancel()
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("new HTTP/3 connections still served 5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.Exited() {
		t.Fatal("ferry exited before the in-flight HTTP/3 request completed")
	}
	close(release)
	select {
	case a := <-answers:
		if a.err != nil || a.status != 200 || a.body != "done" {
			t.Fatalf("in-flight HTTP/3 request after SIGTERM: %d %q %v, want 200 done", a.status, a.body, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight HTTP/3 request did not complete")
	}
	start := time.Now()
	code, err := s.WaitExit(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("ferry exit code %d after SIGTERM, want 0", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ferry took %v to exit once the last request completed (grace 10s): the QUIC connection was not drained", d)
	}
}

// BenchmarkHTTP3VsHTTP2 measures requests per second through one Ferry,
// over HTTP/3 (quic-go's client) and over HTTP/2 with TLS (Go's client),
// same run, same router and backend, one connection each, `conc` requests
// in flight; and Ferry's CPU time per request, which a busy machine
// disturbs less than the rate:
//
//	go test ./test/e2e -run '^$' -bench HTTP3VsHTTP2 -benchtime 20000x
func BenchmarkHTTP3VsHTTP2(b *testing.B) {
	s := startH3FerryBench(b)
	for _, proto := range []string{"h2", "h3"} {
		b.Run(proto, func(b *testing.B) {
			c := s.tcpClient(b, true)
			if proto == "h3" {
				c = s.h3Client(b)
			}
			const conc = 32
			var failed atomic.Int64
			next := make(chan struct{}, conc)
			var wg sync.WaitGroup
			b.ResetTimer()
			start, cpu := time.Now(), processCPU(b, s.pid)
			for range conc {
				wg.Go(func() {
					for range next {
						resp, err := c.Get("https://app.test/")
						if err != nil {
							failed.Add(1)
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							failed.Add(1)
						}
					}
				})
			}
			for b.Loop() {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64((processCPU(b, s.pid)-cpu).Microseconds())/float64(b.N), "ferry-cpu-µs/req")
			if n := failed.Load(); n > 0 {
				b.Errorf("%d of %d requests failed", n, b.N)
			}
		})
	}
}
