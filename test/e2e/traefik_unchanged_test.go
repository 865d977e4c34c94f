package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/testpki"
)

// TestTraefikV3DeploymentUnchanged serves a Traefik v3 static and dynamic
// configuration, written the way a Traefik user writes them (Traefik's key
// names and spellings, a file provider named relative to the static file,
// --configFile on the command line), and checks end to end that every part
// of it works under Ferry: an entry point with default TLS options
// requiring client certificates (mTLS) and entry-point middlewares, an
// HTTPS upstream signed by a private CA reached through a serversTransport
// with rootCAs and serverName, a v2-syntax router, a TCP router and a UDP
// router; and that the API reports no disabled object and no problem.
func TestTraefikV3DeploymentUnchanged(t *testing.T) {
	dir := t.TempDir()
	web, websecure, tcpep := reservedAddr(t, false), reservedAddr(t, false), reservedAddr(t, false)
	udpep, api := reservedAddr(t, true), reservedAddr(t, false)

	// The PKI: a CA for the certificate Ferry serves, one for the client
	// certificates the mtls options require, and a private one that signed
	// the HTTPS upstream's certificate (valid for upstream.internal only,
	// so that only the serversTransport's serverName makes it verify).
	serverCA := testpki.NewCA(t, "Edge server CA")
	clientCA := testpki.NewCA(t, "Client CA")
	upstreamCA := testpki.NewCA(t, "Upstream private CA")
	edge := serverCA.Server(t, "edge", "app.test", "a.test", "b.test", "c.test")
	client := clientCA.Client(t, "alice")
	strangerCA := testpki.NewCA(t, "Stranger CA")
	stranger := strangerCA.Client(t, "mallory")

	// The files the dynamic configuration names are given by absolute path,
	// as Traefik's documentation does: Traefik reads relative ones from its
	// working directory, which this test does not set.
	certFile := testpki.WriteFile(t, dir, "edge.crt", edge.CertPEM)
	keyFile := testpki.WriteFile(t, dir, "edge.key", edge.KeyPEM)
	clientCAFile := testpki.WriteFile(t, dir, "client-ca.pem", clientCA.PEM)
	upstreamCAFile := testpki.WriteFile(t, dir, "upstream-ca.pem", upstreamCA.PEM)

	upstream := startHTTPSBackend(t, "https-upstream", upstreamCA.Server(t, "upstream", "upstream.internal"), nil)
	v2app := StartBackend(t, "v2-app", nil)
	tcpEcho := startEchoServer(t)
	udpEcho := startUDPEcho(t, "udp-echo")

	// Traefik puts the insecure API on its entry point "traefik" (default
	// :8080); Ferry serves it on a listener of its own, api.address (same
	// default), so the only addition is api.address on a free port.
	static := fmt.Sprintf(`log:
  level: INFO
api:
  insecure: true
  address: %q
entryPoints:
  web:
    address: %q
  websecure:
    address: %q
    http:
      tls:
        options: mtls
      middlewares:
        - secure-headers@file
  tcpep:
    address: %q
  udpep:
    address: "%s/udp"
providers:
  file:
    filename: dynamic.yml
    watch: true
`, api, web, websecure, tcpep, udpep)

	dynamic := dyn(`tls:
  certificates:
    - certFile: %[1]q
      keyFile: %[2]q
  options:
    mtls:
      minVersion: VersionTLS12
      clientAuth:
        caFiles:
          - %[3]q
        clientAuthType: RequireAndVerifyClientCert
http:
  middlewares:
    secure-headers:
      headers:
        customResponseHeaders:
          X-Frame-Options: DENY
          X-Served-Under: unchanged
  serversTransports:
    private-ca:
      serverName: upstream.internal
      rootCAs:
        - %[4]q
  routers:
    secure-app:
      entryPoints:
        - websecure
      rule: Host('app.test')
      service: secure-app
      tls:
        options: mtls
    legacy:
      entryPoints:
        - web
      rule: Host('a.test', 'b.test')
      ruleSyntax: v2
      service: legacy
  services:
    secure-app:
      loadBalancer:
        serversTransport: private-ca
        servers:
          - url: %[5]q
    legacy:
      loadBalancer:
        servers:
          - url: %[6]q
tcp:
  routers:
    echo:
      entryPoints:
        - tcpep
      rule: HostSNI('*')
      service: echo
  services:
    echo:
      loadBalancer:
        servers:
          - address: %[7]q
udp:
  routers:
    echo:
      entryPoints:
        - udpep
      service: echo
  services:
    echo:
      loadBalancer:
        servers:
          - address: %[8]q
`, certFile, keyFile, clientCAFile, upstreamCAFile, upstream.URL, v2app.URL, tcpEcho.Addr, udpEcho)

	staticPath := testpki.WriteFile(t, dir, "traefik.yml", []byte(static))
	testpki.WriteFile(t, dir, "dynamic.yml", []byte(dynamic))
	t.Logf("traefik.yml:\n%s\ndynamic.yml:\n%s", static, dynamic)

	f := startFerryWith(t, web, api, []string{"--configFile=" + staticPath}, nil)
	// The configuration is loaded once the API lists its routers, enabled
	// or not; each part is then checked on its own.
	f.waitRouters(func(m map[string]apiRouter) bool {
		_, secure := m["secure-app@file"]
		_, legacy := m["legacy@file"]
		return secure && legacy
	})

	tlsClient := func(cert *testpki.Leaf) *tls.Config {
		c := &tls.Config{ServerName: "app.test", RootCAs: serverCA.Pool()}
		if cert != nil {
			c.Certificates = []tls.Certificate{cert.TLS}
		}
		return c
	}

	t.Run("websecure with a client certificate reaches the HTTPS upstream through its private CA", func(t *testing.T) {
		waitHTTPS(t, websecure, tlsClient(client), "app.test")
		resp, body, err := tlsGet(websecure, tlsClient(client), false, "app.test", "/hello", nil)
		if err != nil {
			t.Fatalf("GET https://app.test/hello with a client certificate: %v", err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "https-upstream" {
			t.Fatalf("GET https://app.test/hello: status %d from %q, want 200 from https-upstream: %s",
				resp.StatusCode, resp.Header.Get("X-Backend"), body)
		}
		if got := resp.Header.Get("X-Sni"); got != "upstream.internal" {
			t.Errorf("the upstream saw SNI %q, want serversTransports.private-ca.serverName upstream.internal", got)
		}
		if got := resp.Header.Get("X-Served-Under"); got != "unchanged" {
			t.Errorf("entry-point middleware secure-headers@file: X-Served-Under %q, want unchanged", got)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("entry-point middleware secure-headers@file: X-Frame-Options %q, want DENY", got)
		}
		e := echoed(t, body)
		if e.Path != "/hello" || e.Host != "app.test" {
			t.Errorf("upstream got path %q host %q, want /hello and app.test", e.Path, e.Host)
		}
		if got := e.Header("X-Forwarded-Proto"); got != "https" {
			t.Errorf("upstream got X-Forwarded-Proto %q, want https", got)
		}
		state, err := tlsHandshake(websecure, tlsClient(client))
		if err != nil {
			t.Fatalf("handshake with a client certificate: %v", err)
		}
		if state.Version < tls.VersionTLS12 || len(state.PeerCertificates) == 0 ||
			state.PeerCertificates[0].Subject.CommonName != "edge" {
			t.Errorf("handshake: version %x, certificates %d: want TLS 1.2+ and the edge certificate from tls.certificates",
				state.Version, len(state.PeerCertificates))
		}
	})

	t.Run("websecure refuses clients without a certificate from caFiles, and TLS below minVersion", func(t *testing.T) {
		if _, err := tlsHandshake(websecure, tlsClient(nil)); !refusedWith(err, "certificate required", "bad certificate", "handshake failure") {
			t.Errorf("handshake without a client certificate: %v, want a refusal (clientAuthType RequireAndVerifyClientCert)", err)
		}
		// GetClientCertificate sends it even though Ferry asks for the client CA's.
		other := tlsClient(nil)
		other.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger.TLS, nil }
		if _, err := tlsHandshake(websecure, other); !refusedWith(err, "unknown certificate authority", "bad certificate") {
			t.Errorf("handshake with a certificate from another CA: %v, want a refusal (caFiles)", err)
		}
		if _, _, err := tlsGet(websecure, tlsClient(nil), false, "app.test", "/", nil); err == nil {
			t.Error("GET https://app.test/ without a client certificate succeeded")
		}
		tls11 := tlsClient(client)
		tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if _, err := tlsHandshake(websecure, tls11); !refusedWith(err, "protocol version") {
			t.Errorf("handshake in TLS 1.1: %v, want a refusal (minVersion VersionTLS12)", err)
		}
	})

	t.Run("the v2-syntax router answers both of its hosts on web", func(t *testing.T) {
		f := f.For(t)
		f.WaitRoute("a.test", "/", http.StatusOK, "v2-app")
		for _, host := range []string{"a.test", "b.test"} {
			res := f.Get(host, "/v2")
			if res.Status != http.StatusOK || res.Backend() != "v2-app" {
				t.Errorf("GET http://%s/v2: %d from %q, want 200 from v2-app", host, res.Status, res.Backend())
			}
			if got := res.Header.Get("X-Served-Under"); got != "" {
				t.Errorf("GET http://%s/v2: websecure's entry-point middleware ran on web (X-Served-Under %q)", host, got)
			}
		}
		if res := f.Get("c.test", "/v2"); res.Status != http.StatusNotFound {
			t.Errorf("GET http://c.test/v2: %d from %q, want 404", res.Status, res.Backend())
		}
		if res := f.Get("app.test", "/"); res.Status != http.StatusNotFound {
			t.Errorf("GET http://app.test/ on web: %d from %q, want 404 (secure-app is on websecure only)", res.Status, res.Backend())
		}
	})

	t.Run("bytes sent to tcpep come back from the TCP echo server", func(t *testing.T) {
		f.For(t).WaitTCPRouters("echo@file")
		c, err := net.DialTimeout("tcp", tcpep, waitTimeout)
		if err != nil {
			t.Fatalf("dial tcpep: %v", err)
		}
		defer c.Close()
		if got := readLine(t, c); got+"\n" != echoGreeting {
			t.Fatalf("tcpep greeting %q, want the echo server's %q", got, echoGreeting)
		}
		msg := "through ferry, unchanged\n"
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		buf := make([]byte, len(msg))
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo through tcpep: %q, %v; want %q", buf, err, msg)
		}
	})

	t.Run("a datagram sent to udpep comes back from the UDP echo server", func(t *testing.T) {
		f := f.For(t)
		f.waitUDP("/api/udp/routers", func(m map[string]apiUDPObject) bool { return m["echo@file"].Status == "enabled" })
		u := dialUDP(t, udpep)
		var got string
		for range 5 { // a datagram may be lost; it is not the subject
			if got = u.ask("ping over udp", 2*time.Second); got != "" {
				break
			}
		}
		if got != "udp-echo:ping over udp" {
			t.Fatalf("answer through udpep %q, want %q", got, "udp-echo:ping over udp")
		}
	})

	t.Run("the API shows every object enabled and no problem", func(t *testing.T) {
		f := f.For(t)
		for _, name := range []string{"secure-app@file", "legacy@file"} {
			if status, errs := routerStatus(f, name); status != "enabled" || len(errs) > 0 {
				t.Errorf("HTTP router %s: %s %q, want enabled", name, status, errs)
			}
		}
		_, routers := f.Routers()
		if r := routers["secure-app@file"]; strings.Join(r.EntryPoints, ",") != "websecure" {
			t.Errorf("secure-app@file entry points %q, want [websecure]", r.EntryPoints)
		}
		var tcpRouters []apiTCPRouter
		f.APIGet("/api/tcp/routers", &tcpRouters)
		var udpRouters []apiUDPObject
		f.APIGet("/api/udp/routers", &udpRouters)
		for _, r := range tcpRouters {
			if r.Status != "enabled" || len(r.Error) > 0 {
				t.Errorf("TCP router %s: %s %q, want enabled", r.Name, r.Status, r.Error)
			}
		}
		for _, r := range udpRouters {
			if r.Status != "enabled" || len(r.Error) > 0 {
				t.Errorf("UDP router %s: %s %q, want enabled", r.Name, r.Status, r.Error)
			}
		}
		if len(tcpRouters) != 1 || len(udpRouters) != 1 {
			t.Errorf("TCP routers %+v and UDP routers %+v: want echo@file in each", tcpRouters, udpRouters)
		}

		type state struct {
			Status string   `json:"status"`
			Error  []string `json:"error"`
		}
		var raw struct {
			Routers     map[string]state `json:"routers"`
			Services    map[string]state `json:"services"`
			Middlewares map[string]state `json:"middlewares"`
			TCPRouters  map[string]state `json:"tcpRouters"`
			TCPServices map[string]state `json:"tcpServices"`
			UDPRouters  map[string]state `json:"udpRouters"`
			UDPServices map[string]state `json:"udpServices"`
			Problems    []struct{ Kind, Name, Field, Message string }
		}
		f.APIGet("/api/rawdata", &raw)
		if len(raw.Problems) > 0 {
			t.Errorf("rawdata problems, want none: %+v", raw.Problems)
		}
		// As Traefik's, rawdata holds the TCP and UDP objects too.
		want := map[string][]string{
			"routers": {"legacy@file", "secure-app@file"}, "middlewares": {"secure-headers@file"},
			"tcpRouters": {"echo@file"}, "tcpServices": {"echo@file"}, "udpRouters": {"echo@file"}, "udpServices": {"echo@file"},
		}
		for what, m := range map[string]map[string]state{"routers": raw.Routers, "services": raw.Services, "middlewares": raw.Middlewares,
			"tcpRouters": raw.TCPRouters, "tcpServices": raw.TCPServices, "udpRouters": raw.UDPRouters, "udpServices": raw.UDPServices} {
			for _, name := range want[what] {
				if _, ok := m[name]; !ok {
					t.Errorf("rawdata %s lack %s: %v", what, name, keys(m))
				}
			}
			for name, st := range m {
				if st.Status != "enabled" || len(st.Error) > 0 {
					t.Errorf("rawdata %s %s: %s %q, want enabled", what, name, st.Status, st.Error)
				}
			}
		}
	})
}
