package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTLSOptions runs one Ferry whose web entry point serves routers with
// different TLS options, a mutual TLS router with passTLSClientCert, a TCP
// router terminating TLS with options, and a default certificate, and
// checks each with real TLS clients (crypto/tls and curl).
func TestTLSOptions(t *testing.T) {
	t.Parallel()
	pki := newPrivateCA(t, "Ferry test CA")
	clientsCA := newPrivateCA(t, "Ferry clients CA")
	_, serverCert, serverKey := pki.issue(t, x509.ExtKeyUsageServerAuth, "server",
		"modern.test", "legacy.test", "cipher.test", "curve.test", "mtls.test", "open.test", "db.test", "broken.test")
	fallback, fallbackCert, fallbackKey := pki.issue(t, x509.ExtKeyUsageServerAuth, "fallback.test", "fallback.test")
	alice, aliceCert, aliceKey := clientsCA.issue(t, x509.ExtKeyUsageClientAuth, "alice", "alice.clients.test")
	mallory, _, _ := newPrivateCA(t, "Another CA").issue(t, x509.ExtKeyUsageClientAuth, "mallory")
	backend := StartBackend(t, "app", nil)
	tcpEcho := startEchoServer(t)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    modern:
      rule: Host(%[1]s)
      service: app
      tls: {options: modern}
    legacy:
      rule: Host(%[2]s)
      service: app
      tls: {}
    cipher:
      rule: Host(%[3]s)
      service: app
      tls: {options: ciphers}
    curve:
      rule: Host(%[4]s)
      service: app
      tls: {options: curves}
    mtls:
      rule: Host(%[5]s)
      service: app
      middlewares: [clientcert]
      tls: {options: mtls}
    open:
      rule: Host(%[6]s)
      service: app
      tls: {}
    broken:
      rule: Host(%[7]s)
      service: app
      tls: {options: broken}
  middlewares:
    clientcert:
      passTLSClientCert:
        pem: true
        info:
          notAfter: true
          sans: true
          subject: {commonName: true}
          issuer: {commonName: true, organization: true}
  services:
    app:
      loadBalancer:
        servers:
          - url: %[8]q
tcp:
  routers:
    db:
      rule: HostSNI(%[9]s)
      service: echo
      tls: {options: modern}
  services:
    echo:
      loadBalancer:
        servers:
          - address: %[10]q
tls:
  certificates:
    - certFile: %[11]q
      keyFile: %[12]q
  options:
    modern:
      minVersion: VersionTLS13
    ciphers:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    curves:
      curvePreferences: [CurveP384]
    mtls:
      clientAuth:
        caFiles: [%[13]q]
        clientAuthType: RequireAndVerifyClientCert
    broken:
      minVersion: VersionTLS12
      cipherSuites: [TLS_NO_SUCH_SUITE]
  stores:
    default:
      defaultCertificate:
        certFile: %[14]q
        keyFile: %[15]q
`, "`modern.test`", "`legacy.test`", "`cipher.test`", "`curve.test`", "`mtls.test`", "`open.test`", "`broken.test`",
		backend.URL, "`db.test`", tcpEcho.Addr, serverCert, serverKey, clientsCA.CAPath, fallbackCert, fallbackKey)})

	client := func(sni string, mod func(*tls.Config)) *tls.Config {
		c := &tls.Config{ServerName: sni, RootCAs: pki.Roots}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tls12 := func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }
	waitHTTPS(t, f.Web, client("legacy.test", nil), "legacy.test")

	t.Run("minVersion TLS 1.3 refuses a TLS 1.2 client; a router without options on the same entry point accepts it", func(t *testing.T) {
		_, err := tlsHandshake(f.Web, client("modern.test", tls12))
		if !refusedWith(err, "protocol version") {
			t.Fatalf("TLS 1.2 to modern.test: %v, want a protocol version alert", err)
		}
		state, err := tlsHandshake(f.Web, client("legacy.test", tls12))
		if err != nil || state.Version != tls.VersionTLS12 {
			t.Fatalf("TLS 1.2 to legacy.test: %v (version %x)", err, state.Version)
		}
		resp, _, err := tlsGet(f.Web, client("modern.test", nil), true, "modern.test", "/", nil)
		if err != nil || resp.StatusCode != http.StatusOK || resp.TLS.Version != tls.VersionTLS13 || resp.ProtoMajor != 2 {
			t.Fatalf("TLS 1.3 to modern.test: %v %v", resp, err)
		}
	})

	t.Run("cipher suites", func(t *testing.T) {
		_, err := tlsHandshake(f.Web, client("cipher.test", func(c *tls.Config) {
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		}))
		if !refusedWith(err, "handshake failure") {
			t.Fatalf("a client without the allowed suite: %v, want a handshake failure", err)
		}
		state, err := tlsHandshake(f.Web, client("cipher.test", nil))
		if err != nil || state.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 || state.Version != tls.VersionTLS12 {
			t.Fatalf("default client: %v, %s %x", err, tls.CipherSuiteName(state.CipherSuite), state.Version)
		}
		// The same client to a router without options gets TLS 1.3.
		if state, err := tlsHandshake(f.Web, client("legacy.test", nil)); err != nil || state.Version != tls.VersionTLS13 {
			t.Fatalf("legacy.test: %v %x", err, state.Version)
		}
	})

	t.Run("curve preferences", func(t *testing.T) {
		_, err := tlsHandshake(f.Web, client("curve.test", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} }))
		if !refusedWith(err, "handshake failure") {
			t.Fatalf("an X25519-only client: %v, want a handshake failure", err)
		}
		state, err := tlsHandshake(f.Web, client("curve.test", nil))
		if err != nil || state.CurveID != tls.CurveP384 {
			t.Fatalf("default client: %v, curve %s", err, state.CurveID)
		}
		if state, err := tlsHandshake(f.Web, client("legacy.test", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} })); err != nil || state.CurveID != tls.X25519 {
			t.Fatalf("X25519 to legacy.test: %v %s", err, state.CurveID)
		}
	})

	t.Run("mutual TLS", func(t *testing.T) {
		_, err := tlsHandshake(f.Web, client("mtls.test", nil))
		if !refusedWith(err, "certificate required") {
			t.Fatalf("no client certificate: %v, want a certificate required alert", err)
		}
		// GetClientCertificate sends it even though the server asks for another CA's.
		_, err = tlsHandshake(f.Web, client("mtls.test", func(c *tls.Config) {
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &mallory, nil }
		}))
		if !refusedWith(err, "unknown certificate authority", "bad certificate") {
			t.Fatalf("a certificate of another CA: %v, want it refused", err)
		}
		forged := http.Header{"X-Forwarded-Tls-Client-Cert": {"forged"}, "X-Forwarded-Tls-Client-Cert-Info": {"forged"}}
		for _, h2 := range []bool{false, true} {
			resp, body, err := tlsGet(f.Web, client("mtls.test", func(c *tls.Config) { c.Certificates = []tls.Certificate{alice} }),
				h2, "mtls.test", "/", forged)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("h2=%v: a valid client certificate: %v %v", h2, resp, err)
			}
			seen := echoed(t, body)
			if got, want := seen.Header("X-Forwarded-Tls-Client-Cert"), base64.StdEncoding.EncodeToString(alice.Certificate[0]); got != want {
				t.Errorf("h2=%v: upstream got X-Forwarded-Tls-Client-Cert %q, want the client's certificate %q", h2, got, want)
			}
			if n := len(seen.Headers["X-Forwarded-Tls-Client-Cert"]); n != 1 {
				t.Errorf("h2=%v: %d X-Forwarded-Tls-Client-Cert values", h2, n)
			}
			info, _ := url.QueryUnescape(seen.Header("X-Forwarded-Tls-Client-Cert-Info"))
			want := `Subject="CN=alice";Issuer="O=Ferry tests,CN=Ferry clients CA";NA="` +
				strconv.FormatInt(alice.Leaf.NotAfter.Unix(), 10) + `";SAN="alice.clients.test"`
			if info != want {
				t.Errorf("h2=%v: upstream got X-Forwarded-Tls-Client-Cert-Info %q, want %q", h2, info, want)
			}
		}
	})

	t.Run("client certificate headers from the client never pass", func(t *testing.T) {
		resp, body, err := tlsGet(f.Web, client("open.test", nil), false, "open.test", "/",
			http.Header{"X-Forwarded-Tls-Client-Cert": {"forged"}, "X-Forwarded-Tls-Client-Cert-Info": {"forged"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("open.test: %v %v", resp, err)
		}
		seen := echoed(t, body)
		for _, h := range []string{"X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info"} {
			if v := seen.Header(h); v != "" {
				t.Errorf("the upstream got %s: %q", h, v)
			}
		}
	})

	t.Run("a connection made for a name without client certificates cannot reach the mTLS router", func(t *testing.T) {
		resp, _, err := tlsGet(f.Web, client("open.test", nil), false, "mtls.test", "/", nil)
		if err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("SNI open.test, Host mtls.test: %v %v, want 421", resp, err)
		}
	})

	t.Run("curl with a client certificate", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		resolve := "mtls.test:" + portOf(t, f.Web) + ":127.0.0.1"
		base := []string{"-sS", "--max-time", "10", "--cacert", pki.CAPath, "--resolve", resolve, "-o", "/dev/null", "-w", "%{http_code}"}
		out, err := exec.Command("curl", append(base, "--cert", aliceCert, "--key", aliceKey, "https://mtls.test:"+portOf(t, f.Web)+"/")...).CombinedOutput()
		if err != nil || string(out) != "200" {
			t.Fatalf("curl with alice's certificate: %v %s", err, out)
		}
		out, err = exec.Command("curl", append(base, "https://mtls.test:"+portOf(t, f.Web)+"/")...).CombinedOutput()
		if err == nil || strings.HasSuffix(string(out), "200") {
			t.Fatalf("curl without a certificate: %v %s, want a failed handshake", err, out)
		}
	})

	t.Run("a TCP router terminating TLS honours its options", func(t *testing.T) {
		dialTCP := func(mod func(*tls.Config)) (string, error) {
			raw, err := net.DialTimeout("tcp", f.Web, waitTimeout)
			if err != nil {
				return "", err
			}
			defer raw.Close()
			_ = raw.SetDeadline(time.Now().Add(waitTimeout))
			c := tls.Client(raw, client("db.test", mod))
			if err := c.Handshake(); err != nil {
				return "", err
			}
			buf := make([]byte, len(echoGreeting))
			_, err = io.ReadFull(c, buf)
			return string(buf), err
		}
		if _, err := dialTCP(tls12); !refusedWith(err, "protocol version") {
			t.Fatalf("TLS 1.2 to db.test: %v, want a protocol version alert", err)
		}
		if got, err := dialTCP(nil); err != nil || got != echoGreeting {
			t.Fatalf("TLS 1.3 to db.test: %q %v", got, err)
		}
	})

	t.Run("the default certificate for an unknown name", func(t *testing.T) {
		state, err := tlsHandshake(f.Web, &tls.Config{ServerName: "unknown.test", InsecureSkipVerify: true})
		if err != nil || len(state.PeerCertificates) == 0 {
			t.Fatalf("unknown.test: %v", err)
		}
		if got := state.PeerCertificates[0]; string(got.Raw) != string(fallback.Certificate[0]) {
			t.Fatalf("unknown.test got the certificate of %q, want tls.stores.default.defaultCertificate (fallback.test)", got.Subject.CommonName)
		}
		if _, err := tlsHandshake(f.Web, client("fallback.test", nil)); err != nil {
			t.Fatalf("the default certificate does not verify for its own name: %v", err)
		}
	})

	t.Run("bad options disable their router only, with the key named", func(t *testing.T) {
		_, routers := f.Routers()
		r := routers["broken@file"]
		if r.Status != "disabled" || !strings.Contains(strings.Join(r.Error, " "), `TLS options "broken@file" are disabled`) {
			t.Fatalf("router broken: %s %q", r.Status, r.Error)
		}
		var raw struct {
			Problems []struct{ Kind, Name, Field, Message string }
		}
		f.APIGet("/api/rawdata", &raw)
		found := false
		for _, p := range raw.Problems {
			found = found || p.Kind == "tlsOptions" && p.Name == "broken@file" && p.Field == "cipherSuites[0]"
		}
		if !found {
			t.Errorf("no problem naming tls.options.broken cipherSuites[0]: %+v", raw.Problems)
		}
		if routers["modern@file"].Status != "enabled" || routers["legacy@file"].Status != "enabled" {
			t.Errorf("other routers disabled: %+v", routers)
		}
	})
}

// TestTLSSNIStrict: default options with sniStrict refuse handshakes
// without a server name or with one no certificate covers.
func TestTLSSNIStrict(t *testing.T) {
	t.Parallel()
	pki := newPrivateCA(t, "Ferry test CA")
	_, certPath, keyPath := pki.issue(t, x509.ExtKeyUsageServerAuth, "known.test", "known.test")
	backend := StartBackend(t, "app", nil)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    known:
      rule: Host(%[1]s)
      service: app
      tls: {}
    nocert:
      rule: Host(%[2]s)
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: %[3]q
tls:
  certificates:
    - certFile: %[4]q
      keyFile: %[5]q
  options:
    default:
      sniStrict: true
`, "`known.test`", "`nocert.test`", backend.URL, certPath, keyPath)})
	waitHTTPS(t, f.Web, &tls.Config{ServerName: "known.test", RootCAs: pki.Roots}, "known.test")
	for _, tt := range []struct{ name, sni string }{
		{"a name no router serves", "unknown.test"},
		{"a router's name without a certificate", "nocert.test"},
		{"no server name", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tlsHandshake(f.Web, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
			if !refusedWith(err, "internal error") { // the alert crypto/tls sends when GetCertificate refuses
				t.Fatalf("SNI %q: %v, want the handshake refused", tt.sni, err)
			}
		})
	}
}
