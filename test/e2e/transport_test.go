package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
	"github.com/ferryproxy/ferry/test/testpki"
)

// startHTTPSBackend starts an echo backend over TLS with leaf, on a
// loopback port. It adds X-Sni (the SNI name it received) and X-Client-Cn
// (the client certificate's name) to every answer. With clientCA, it
// refuses clients without a certificate that CA signed.
func startHTTPSBackend(t *testing.T, name string, leaf *testpki.Leaf, clientCA *testpki.CA) *Backend {
	t.Helper()
	h := echo.Handler(name)
	ln, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sni", r.TLS.ServerName)
		if len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Client-Cn", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		h.ServeHTTP(w, r)
	}))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	if clientCA != nil {
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &Backend{Name: name, URL: srv.URL, Addr: ln.Addr().String()}
}

// startTLSLineBackend answers each line a client sends over TLS with
// "tls-upstream <SNI> <client certificate name> <line>". It requires a
// client certificate from clientCA.
func startTLSLineBackend(t *testing.T, leaf *testpki.Leaf, clientCA *testpki.CA) *tcpServer {
	conf := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool()}
	return startTCPServer(t, tls.NewListener(listenLoopback(t), conf), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		cs := tc.ConnectionState()
		lines := bufio.NewScanner(tc)
		for lines.Scan() {
			fmt.Fprintf(tc, "tls-upstream %s %s %s\n", cs.ServerName, cs.PeerCertificates[0].Subject.CommonName, lines.Text())
		}
	})
}

// TestServersTransports: HTTPS and TLS upstreams whose certificates come
// from a private CA, reached through http and tcp serversTransports.
func TestServersTransports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testpki.NewCA(t, "Upstream private CA")
	caFile := testpki.WriteFile(t, dir, "upstream-ca.pem", ca.PEM)
	clientCA := testpki.NewCA(t, "Client CA")
	client := clientCA.Client(t, "ferry-client")
	certFile := testpki.WriteFile(t, dir, "client.pem", client.CertPEM)
	keyFile := testpki.WriteFile(t, dir, "client.key", client.KeyPEM)

	byIP := startHTTPSBackend(t, "private", ca.Server(t, "private", "127.0.0.1"), nil)
	byName := startHTTPSBackend(t, "named", ca.Server(t, "backend.internal", "backend.internal"), nil)
	mutual := startHTTPSBackend(t, "mutual", ca.Server(t, "mutual", "127.0.0.1"), clientCA)
	db := startTLSLineBackend(t, ca.Server(t, "db.internal", "db.internal"), clientCA)
	rawAddr := freeAddr(t)

	f := startFerryWithEntryPoints(t, Options{LogLevel: "debug", Dynamic: dyn(`
http:
  serversTransports:
    private:
      rootCAs: [%[1]q]
    insecure:
      insecureSkipVerify: true
    named:
      rootCAs: [%[1]q]
      serverName: backend.internal
    mtls:
      rootCAs: [%[1]q]
      certificates:
        - certFile: %[2]q
          keyFile: %[3]q
    slow:
      rootCAs: [%[1]q]
      forwardingTimeouts:
        responseHeaderTimeout: 300ms
  routers:
    plain:     {rule: "Host('plain.test')", service: plain}
    private:   {rule: "Host('private.test')", service: private}
    insecure:  {rule: "Host('insecure.test')", service: insecure}
    noname:    {rule: "Host('noname.test')", service: noname}
    named:     {rule: "Host('named.test')", service: named}
    nocert:    {rule: "Host('nocert.test')", service: nocert}
    mtls:      {rule: "Host('mtls.test')", service: mtls}
    slow:      {rule: "Host('slow.test')", service: slow}
    checked:   {rule: "Host('checked.test')", service: checked}
  services:
    plain:
      loadBalancer: {servers: [{url: %[4]q}]}
    private:
      loadBalancer: {servers: [{url: %[4]q}], serversTransport: private}
    insecure:
      loadBalancer: {servers: [{url: %[5]q}], serversTransport: insecure}
    noname:
      loadBalancer: {servers: [{url: %[5]q}], serversTransport: private}
    named:
      loadBalancer: {servers: [{url: %[5]q}], serversTransport: named}
    nocert:
      loadBalancer: {servers: [{url: %[6]q}], serversTransport: private}
    mtls:
      loadBalancer: {servers: [{url: %[6]q}], serversTransport: mtls@file}
    slow:
      loadBalancer: {servers: [{url: %[4]q}], serversTransport: slow}
    checked:
      loadBalancer:
        servers: [{url: %[4]q}]
        serversTransport: private
        healthCheck: {path: /health, interval: 100ms, timeout: 1s}
tcp:
  serversTransports:
    upstream:
      dialTimeout: 2s
      tls:
        rootCAs: [%[1]q]
        serverName: db.internal
        certificates:
          - certFile: %[2]q
            keyFile: %[3]q
  routers:
    db:
      rule: HostSNI('*')
      entryPoints: [raw]
      service: db
  services:
    db:
      loadBalancer:
        servers: [{address: %[7]q}]
        serversTransport: upstream
`, caFile, certFile, keyFile, byIP.URL, byName.URL, mutual.URL, db.Addr)}, fmt.Sprintf("  raw:\n    address: %q\n", rawAddr))
	f.WaitRoute("private.test", "/", http.StatusOK, "private")

	t.Run("without a transport the private CA is refused, with a clear log line", func(t *testing.T) {
		f := f.For(t)
		mark := f.LogMark()
		if res := f.Get("plain.test", "/"); res.Status != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", res.Status)
		}
		f.WaitLog(mark, "naming the unknown authority", func(line string) bool {
			return containsAll(line, `"no server answered"`, `"service":"plain@file"`, "certificate signed by unknown authority")
		})
	})

	for _, tt := range []struct {
		name, host    string
		status        int
		backend       string
		header, value string
	}{
		{"rootCAs trusts the private CA", "private.test", http.StatusOK, "private", "", ""},
		{"insecureSkipVerify accepts any certificate", "insecure.test", http.StatusOK, "named", "", ""},
		{"the certificate must name the server's host", "noname.test", http.StatusBadGateway, "", "", ""},
		{"serverName is sent in SNI and verified", "named.test", http.StatusOK, "named", "X-Sni", "backend.internal"},
		{"a server requiring a client certificate refuses none", "nocert.test", http.StatusBadGateway, "", "", ""},
		{"certificates present the client certificate", "mtls.test", http.StatusOK, "mutual", "X-Client-Cn", "ferry-client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.For(t).Get(tt.host, "/")
			if res.Status != tt.status || res.Backend() != tt.backend {
				t.Fatalf("status %d from %q, want %d from %q: %s", res.Status, res.Backend(), tt.status, tt.backend, res.Body)
			}
			if tt.header != "" && res.Header.Get(tt.header) != tt.value {
				t.Errorf("%s: %q, want %q", tt.header, res.Header.Get(tt.header), tt.value)
			}
		})
	}

	t.Run("responseHeaderTimeout answers 504", func(t *testing.T) {
		f := f.For(t)
		start := time.Now()
		if res := f.Get("slow.test", "/slow?ms=3000"); res.Status != http.StatusGatewayTimeout {
			t.Fatalf("status %d, want 504", res.Status)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("answered after %s, want about 300ms", d)
		}
		if res := f.Get("slow.test", "/slow?ms=10"); res.Status != http.StatusOK {
			t.Errorf("a fast answer through the same transport: %d", res.Status)
		}
	})

	t.Run("the health check goes through the transport", func(t *testing.T) {
		f.For(t).lbWaitServer("checked@file", byIP.URL, "UP")
	})

	t.Run("a TCP router reaches a TLS upstream through a tcp serversTransport", func(t *testing.T) {
		f.For(t).WaitTCPRouters("db@file")
		c, err := net.DialTimeout("tcp", rawAddr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, msg := range []string{"ping", "pong"} {
			if _, err := io.WriteString(c, msg+"\n"); err != nil {
				t.Fatal(err)
			}
			if line := readLine(t, c); line != "tls-upstream db.internal ferry-client "+msg {
				t.Fatalf("upstream said %q", line)
			}
		}
	})

	t.Run("a transport that cannot be built disables its services, and only them", func(t *testing.T) {
		f := f.For(t)
		f.WriteDynamic(dyn(`
http:
  serversTransports:
    private:
      rootCAs: [%[1]q]
    broken:
      rootCAs: [%[2]q]
  routers:
    private: {rule: "Host('private.test')", service: private}
    broken:  {rule: "Host('broken.test')", service: broken}
  services:
    private:
      loadBalancer: {servers: [{url: %[3]q}], serversTransport: private}
    broken:
      loadBalancer: {servers: [{url: %[3]q}], serversTransport: broken}
`, caFile, dir+"/missing-ca.pem", byIP.URL))
		var s apiService
		for deadline := time.Now().Add(waitTimeout); f.lbTryAPI("/api/http/services/broken@file", &s) != nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the new configuration was not applied")
			}
		}
		if res := f.Get("broken.test", "/"); res.Status != http.StatusNotFound {
			t.Errorf("the router of the disabled service answered %d, want 404", res.Status)
		}
		if s.Status != "disabled" || len(s.Error) == 0 ||
			!strings.Contains(s.Error[0], `loadBalancer.serversTransport: servers transport "broken@file" is disabled: rootCAs[0]: open `+dir+"/missing-ca.pem") {
			t.Errorf("service %+v: want disabled, naming the transport and its key", s)
		}
		if res := f.Get("private.test", "/"); res.Status != http.StatusOK {
			t.Errorf("the other service answered %d", res.Status)
		}
	})
}

// TestServersTransportStaticDefaults: the static serversTransport section
// is the transport of services that name none.
func TestServersTransportStaticDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testpki.NewCA(t, "Upstream private CA")
	caFile := testpki.WriteFile(t, dir, "upstream-ca.pem", ca.PEM)
	b := startHTTPSBackend(t, "private", ca.Server(t, "private", "127.0.0.1"), nil)
	f := StartFerry(t, Options{
		Dynamic: dyn(`
http:
  routers:
    app: {rule: "Host('app.test')", service: app}
  services:
    app:
      loadBalancer: {servers: [{url: %q}]}
`, b.URL),
		Static: func(f *Ferry) string {
			return f.staticConfig(Options{}) + fmt.Sprintf("serversTransport:\n  rootCAs: [%q]\n  maxIdleConnsPerHost: 64\n"+
				"  forwardingTimeouts:\n    dialTimeout: 3s\n", caFile)
		},
	})
	f.WaitRoute("app.test", "/", http.StatusOK, "private")

	out, code := runFerry(t, "check", "--config", f.StaticPath)
	if code != 0 {
		t.Errorf("ferry check: exit %d\n%s", code, out)
	}
	bad := strings.Replace(f.staticConfig(Options{}), "entryPoints:", "serversTransport:\n  rootCAs: [missing.pem]\n  spiffe: {trustDomain: example.org}\nentryPoints:", 1)
	badPath := testpki.WriteFile(t, dir, "bad.yaml", []byte(bad))
	out, code = runFerry(t, "check", "--config", badPath)
	if code == 0 || !containsAll(out, "serversTransport.rootCAs[0]: stat "+dir+"/missing.pem", "serversTransport.spiffe: not supported") {
		t.Errorf("ferry check of a bad serversTransport: exit %d\n%s", code, out)
	}
}

// TestServersTransportFromLabels: a service defined by Consul catalog tags
// (the label grammar) names a transport defined in a file.
func TestServersTransportFromLabels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testpki.NewCA(t, "Upstream private CA")
	caFile := testpki.WriteFile(t, dir, "upstream-ca.pem", ca.PEM)
	b := startHTTPSBackend(t, "labelled", ca.Server(t, "labelled", "127.0.0.1"), nil)
	c := StartConsul(t)
	f := StartFerry(t, Options{Providers: consulCatalogProviders(c.Addr), Dynamic: dyn(`
http:
  serversTransports:
    mytransport:
      rootCAs: [%q]
`, caFile)})
	c.Register("web", "web-1", b, "ferry.enable=true", "ferry.http.routers.web.rule=Host(`web.consul.test`)",
		"ferry.http.services.web.loadbalancer.server.scheme=https",
		"ferry.http.services.web.loadbalancer.serverstransport=mytransport@file")
	f.WaitRoute("web.consul.test", "/", http.StatusOK, "labelled")

	c.Register("web", "web-1", b, "ferry.enable=true", "ferry.http.routers.web.rule=Host(`web.consul.test`)",
		"ferry.http.services.web.loadbalancer.server.scheme=https",
		"ferry.http.services.web.loadbalancer.serverstransport=mytransport") // web@consulcatalog has no such transport
	f.WaitRoute("web.consul.test", "/", http.StatusNotFound, "")
	s := f.lbService("web@consulcatalog")
	if len(s.Error) == 0 || !strings.Contains(s.Error[0], `servers transport "mytransport@consulcatalog" does not exist`) {
		t.Errorf("service %+v: want disabled, naming the missing transport", s)
	}
}
