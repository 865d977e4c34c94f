package router

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/test/testpki"
)

// tlsUpstream is an HTTPS server whose certificate comes from a private CA.
// It tells in headers what it saw of the connection, and counts connections.
type tlsUpstream struct {
	url            string
	opened, closed atomic.Int64
	slow           time.Duration // /slow answers after this long
}

func startTLSUpstream(t *testing.T, leaf *testpki.Leaf, clientCA *testpki.CA) *tlsUpstream {
	t.Helper()
	u := &tlsUpstream{slow: 500 * time.Millisecond}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Test-Backend", "tls")
		h.Set("X-Sni", r.TLS.ServerName)
		h.Set("X-Proto", r.Proto)
		if len(r.TLS.PeerCertificates) > 0 {
			h.Set("X-Client-Cn", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(u.slow):
			case <-r.Context().Done():
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	if clientCA != nil {
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
	}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.closed.Add(1)
		}
	}
	srv.Config.ErrorLog = zap.NewStdLog(zap.NewNop()) // failed handshakes are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

// transportSwitcher is a Switcher as serve builds it, for the tests of
// servers transports: Apply builds, swaps, syncs health checks and retires
// transports.
func transportSwitcher(t *testing.T) *Switcher {
	sw := NewSwitcher(zap.NewNop(), SwitcherOptions{EntryPoints: testOptions(nil).EntryPoints, Transports: NewTransports()})
	t.Cleanup(sw.Close)
	return sw
}

// serveVia sends one request for host and path through the switcher's live table.
func serveVia(sw *Switcher, host, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	sw.Handler(0, false).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+path, nil))
	return rec
}

// transportConfig gives every service a router for <service>.test.
func transportConfig(transports map[string]*config.ServersTransport, services map[string]*config.Service) *config.Config {
	c := &config.Config{HTTP: config.HTTP{ServersTransports: transports, Services: services, Routers: map[string]*config.Router{}}}
	for name := range services {
		host := strings.TrimSuffix(name, "@file") + ".test"
		c.HTTP.Routers[name] = &config.Router{Rule: "Host(`" + host + "`)", Service: name}
	}
	return c
}

func viaTransport(transport string, urls ...string) *config.Service {
	s := lbService(urls...)
	s.LoadBalancer.ServersTransport = transport
	return s
}

func TestServersTransportTLS(t *testing.T) {
	ca := testpki.NewCA(t, "private CA")
	dir := t.TempDir()
	caFile := testpki.WriteFile(t, dir, "ca.pem", ca.PEM)
	// Valid for 127.0.0.1: the server URL's host.
	byIP := startTLSUpstream(t, ca.Server(t, "backend", "127.0.0.1"), nil)
	// Valid only for backend.internal: reached at 127.0.0.1, so serverName must name it.
	byName := startTLSUpstream(t, ca.Server(t, "backend.internal", "backend.internal"), nil)
	// Identified by a SPIFFE ID, no DNS name or IP.
	bySpiffe := startTLSUpstream(t, ca.Server(t, "spiffe", "spiffe://example.org/backend"), nil)
	// Asks for a client certificate signed by its own CA.
	clientCA := testpki.NewCA(t, "client CA")
	client := clientCA.Client(t, "ferry-client")
	mutual := startTLSUpstream(t, ca.Server(t, "mtls", "127.0.0.1"), clientCA)
	other := testpki.NewCA(t, "some other CA")

	transports := map[string]*config.ServersTransport{
		"file@file":     {RootCAs: []string{caFile}},
		"inline@file":   {RootCAs: []string{string(ca.PEM)}},
		"insecure@file": {InsecureSkipVerify: true},
		"named@file":    {RootCAs: []string{caFile}, ServerName: "backend.internal"},
		"wrongca@file":  {RootCAs: []string{string(other.PEM)}},
		"h1@file":       {RootCAs: []string{caFile}, DisableHTTP2: true},
		"spiffe@file":   {RootCAs: []string{caFile}, PeerCertURI: "spiffe://example.org/backend"},
		"spiffex@file":  {RootCAs: []string{caFile}, PeerCertURI: "spiffe://example.org/other"},
		"mtls@file": {RootCAs: []string{caFile}, Certificates: []config.Certificate{
			{CertFile: testpki.WriteFile(t, dir, "client.pem", client.CertPEM), KeyFile: testpki.WriteFile(t, dir, "client.key", client.KeyPEM)}}},
		"mtlsinline@file": {RootCAs: []string{caFile}, Certificates: []config.Certificate{
			{CertFile: string(client.CertPEM), KeyFile: string(client.KeyPEM)}}},
	}
	services := map[string]*config.Service{
		"default@file":    viaTransport("", byIP.url),
		"internal@file":   viaTransport(config.DefaultTransport, byIP.url),
		"rootfile@file":   viaTransport("file@file", byIP.url),
		"rootinline@file": viaTransport("inline@file", byIP.url),
		"insecure@file":   viaTransport("insecure@file", byName.url),
		"noname@file":     viaTransport("file@file", byName.url),
		"named@file":      viaTransport("named@file", byName.url),
		"wrongca@file":    viaTransport("wrongca@file", byIP.url),
		"h1@file":         viaTransport("h1@file", byIP.url),
		"spiffe@file":     viaTransport("spiffe@file", bySpiffe.url),
		"spiffex@file":    viaTransport("spiffex@file", bySpiffe.url),
		"nocert@file":     viaTransport("file@file", mutual.url),
		"mtls@file":       viaTransport("mtls@file", mutual.url),
		"mtlsinline@file": viaTransport("mtlsinline@file", mutual.url),
	}
	sw := transportSwitcher(t)
	if ps := sw.Apply(Input{Config: transportConfig(transports, services)}).Problems(); len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	tests := []struct {
		host          string
		status        int
		header, value string
	}{
		{"default.test", http.StatusBadGateway, "", ""}, // the system roots do not know the private CA
		{"internal.test", http.StatusBadGateway, "", ""},
		{"rootfile.test", http.StatusOK, "X-Proto", "HTTP/2.0"},
		{"rootinline.test", http.StatusOK, "", ""},
		{"insecure.test", http.StatusOK, "", ""},
		{"noname.test", http.StatusBadGateway, "", ""}, // valid for backend.internal, not 127.0.0.1
		{"named.test", http.StatusOK, "X-Sni", "backend.internal"},
		{"wrongca.test", http.StatusBadGateway, "", ""},
		{"h1.test", http.StatusOK, "X-Proto", "HTTP/1.1"},
		{"spiffe.test", http.StatusOK, "", ""},
		{"spiffex.test", http.StatusBadGateway, "", ""},
		{"nocert.test", http.StatusBadGateway, "", ""},
		{"mtls.test", http.StatusOK, "X-Client-Cn", "ferry-client"},
		{"mtlsinline.test", http.StatusOK, "X-Client-Cn", "ferry-client"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			rec := serveVia(sw, tt.host, "/")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.header != "" && rec.Header().Get(tt.header) != tt.value {
				t.Errorf("%s: %q, want %q", tt.header, rec.Header().Get(tt.header), tt.value)
			}
		})
	}
}

// TestServersTransportReuse: a transport whose definition did not change is
// the same object in the next table, so its idle connections serve the
// next requests; a changed one is new, and the old one's idle connections
// are closed once the swap is done.
func TestServersTransportReuse(t *testing.T) {
	ca := testpki.NewCA(t, "private CA")
	up := startTLSUpstream(t, ca.Server(t, "backend", "127.0.0.1"), nil)
	sw := transportSwitcher(t)
	cfg := func(maxIdle int, extraRouter bool) *config.Config {
		c := transportConfig(map[string]*config.ServersTransport{"t@file": {RootCAs: []string{string(ca.PEM)}, MaxIdleConnsPerHost: maxIdle}},
			map[string]*config.Service{"app@file": viaTransport("t@file", up.url)})
		if extraRouter {
			c.HTTP.Routers["other@file"] = &config.Router{Rule: "Host(`other.test`)", Service: "app@file"}
		}
		return c
	}
	get := func() {
		t.Helper()
		if rec := serveVia(sw, "app.test", "/"); rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	t1 := sw.Apply(Input{Config: cfg(8, false)})
	get()
	get()
	if n := up.opened.Load(); n != 1 {
		t.Fatalf("%d connections for two requests, want 1", n)
	}
	t2 := sw.Apply(Input{Config: cfg(8, true)}) // equal transport, new objects, another router
	if t1.transports.http["t@file"].tr != t2.transports.http["t@file"].tr {
		t.Fatal("an unchanged transport was rebuilt")
	}
	if t1.services["app@file"] != t2.services["app@file"] {
		t.Fatal("an unchanged service was rebuilt")
	}
	get()
	if n := up.opened.Load(); n != 1 {
		t.Fatalf("%d connections after an unrelated change, want 1: the pool was lost", n)
	}
	t3 := sw.Apply(Input{Config: cfg(16, true)})
	if t3.transports.http["t@file"].tr == t2.transports.http["t@file"].tr {
		t.Fatal("a changed transport was kept")
	}
	if t3.services["app@file"] == t2.services["app@file"] {
		t.Fatal("a service whose transport changed was kept")
	}
	waitFor(t, "the retired transport's idle connection closed", func() bool { return up.closed.Load() == 1 })
	get()
	if n := up.opened.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (a new transport dials anew)", n)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
	}
}

// TestServersTransportHealthAndTimeouts: health checks go through the
// service's transport, and a server that exceeds responseHeaderTimeout
// gets 504 counted against it.
func TestServersTransportHealthAndTimeouts(t *testing.T) {
	ca := testpki.NewCA(t, "private CA")
	up := startTLSUpstream(t, ca.Server(t, "backend", "127.0.0.1"), nil)
	sw := transportSwitcher(t)
	checked := func(transport string) *config.Service {
		s := viaTransport(transport, up.url)
		s.LoadBalancer.HealthCheck = fastHC("/health")
		return s
	}
	passive := viaTransport("slow@file", up.url)
	passive.LoadBalancer.PassiveHealthCheck = &config.PassiveHealthCheck{MaxFailedAttempts: 1, FailureWindow: config.Duration(time.Minute)}
	c := transportConfig(map[string]*config.ServersTransport{
		"ca@file": {RootCAs: []string{string(ca.PEM)}},
		"slow@file": {RootCAs: []string{string(ca.PEM)},
			ForwardingTimeouts: &config.ForwardingTimeouts{ResponseHeaderTimeout: config.Duration(100 * time.Millisecond)}},
	}, map[string]*config.Service{
		"checked@file": checked("ca@file"), "unchecked@file": checked(""), "slow@file": passive,
	})
	if ps := sw.Apply(Input{Config: c}).Problems(); len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	status := func(service string) ServerHealth {
		for _, s := range sw.Table().Services() {
			if s.Name == service {
				return s.ServerHealth[up.url]
			}
		}
		return ServerHealth{}
	}
	waitFor(t, "the check through the transport passes", func() bool { return status("checked@file").Status == "UP" })
	waitFor(t, "the check without it fails", func() bool { return status("unchecked@file").Status == "DOWN" })
	if e := status("unchecked@file").LastError; !strings.Contains(e, "certificate") {
		t.Errorf("last error %q does not name the certificate", e)
	}

	start := time.Now()
	rec := serveVia(sw, "slow.test", "/slow")
	if rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", rec.Code)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("answered after %s: the 100ms response header timeout was not applied", d)
	}
	if h := status("slow@file"); h.Status != "DOWN" || !strings.Contains(h.LastError, "timeout awaiting response headers") {
		t.Errorf("server after a response header timeout: %+v, want DOWN (counted against it)", h)
	}
	if rec := serveVia(sw, "checked.test", "/slow"); rec.Code != http.StatusOK {
		t.Errorf("without responseHeaderTimeout a slow answer is %d, want 200", rec.Code)
	}
}

// TestServersTransportBad: a transport that cannot be built disables it
// and the services naming it, with a reason naming the key; others serve.
func TestServersTransportBad(t *testing.T) {
	ca := testpki.NewCA(t, "private CA")
	up := startTLSUpstream(t, ca.Server(t, "backend", "127.0.0.1"), nil)
	dir := t.TempDir()
	notPEM := testpki.WriteFile(t, dir, "notpem.txt", []byte("hello"))
	client, other := ca.Client(t, "client"), ca.Client(t, "other")
	sw := transportSwitcher(t)
	c := transportConfig(map[string]*config.ServersTransport{
		"missing@file":  {RootCAs: []string{dir + "/nope.pem"}},
		"notpem@file":   {RootCAs: []string{notPEM}},
		"badpair@file":  {Certificates: []config.Certificate{{CertFile: string(ca.PEM), KeyFile: dir + "/nokey.pem"}}},
		"good@file":     {RootCAs: []string{string(ca.PEM)}},
		"mismatch@file": {Certificates: []config.Certificate{{CertFile: string(client.CertPEM), KeyFile: string(other.KeyPEM)}}},
	}, map[string]*config.Service{
		"a@file":     viaTransport("missing@file", up.url),
		"b@file":     viaTransport("notpem@file", up.url),
		"c@file":     viaTransport("badpair@file", up.url),
		"good@file":  viaTransport("good@file", up.url),
		"ghost@file": viaTransport("ghost@file", up.url),
	})
	tbl := sw.Apply(Input{Config: c})
	var got []string
	for _, p := range tbl.Problems() {
		got = append(got, p.Error())
	}
	want := []string{
		`router a@file: service: service "a@file" is disabled`,
		`router b@file: service: service "b@file" is disabled`,
		`router c@file: service: service "c@file" is disabled`,
		`router ghost@file: service: service "ghost@file" is disabled`,
		`serversTransport badpair@file: certificates[0]: keyFile: open ` + dir + `/nokey.pem: no such file or directory`,
		`serversTransport mismatch@file: certificates[0]: certificate (inline PEM): tls: private key does not match public key`,
		`serversTransport missing@file: rootCAs[0]: open ` + dir + `/nope.pem: no such file or directory`,
		`serversTransport notpem@file: rootCAs[0]: no PEM certificate in ` + notPEM,
		`service a@file: loadBalancer.serversTransport: servers transport "missing@file" is disabled: rootCAs[0]: open ` + dir + `/nope.pem: no such file or directory`,
		`service b@file: loadBalancer.serversTransport: servers transport "notpem@file" is disabled: rootCAs[0]: no PEM certificate in ` + notPEM,
		`service c@file: loadBalancer.serversTransport: servers transport "badpair@file" is disabled: certificates[0]: keyFile: open ` + dir + `/nokey.pem: no such file or directory`,
		`service ghost@file: loadBalancer.serversTransport: servers transport "ghost@file" does not exist`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if rec := serveVia(sw, "good.test", "/"); rec.Code != http.StatusOK {
		t.Errorf("the service with a good transport answered %d", rec.Code)
	}
	if rec := serveVia(sw, "a.test", "/"); rec.Code != http.StatusNotFound {
		t.Errorf("the router of a disabled service answered %d, want 404", rec.Code)
	}
}

// TestServersTransportOptions: every option reaches the Go transports.
func TestServersTransportOptions(t *testing.T) {
	d := func(s string) config.Duration { v, _ := time.ParseDuration(s); return config.Duration(v) }
	tr, err := newHTTPTransports(&config.ServersTransport{MaxIdleConnsPerHost: 7, DisableHTTP2: true, ServerName: "x.internal",
		ForwardingTimeouts: &config.ForwardingTimeouts{DialTimeout: d("3s"), ResponseHeaderTimeout: d("4s"),
			IdleConnTimeout: d("5s"), ReadIdleTimeout: d("6s"), PingTimeout: d("7s")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := tr.HTTP
	if h.MaxIdleConnsPerHost != 7 || h.ResponseHeaderTimeout != 4*time.Second || h.IdleConnTimeout != 5*time.Second ||
		h.TLSHandshakeTimeout != 3*time.Second || h.HTTP2 == nil || h.HTTP2.SendPingTimeout != 6*time.Second ||
		h.HTTP2.PingTimeout != 7*time.Second || h.TLSClientConfig.ServerName != "x.internal" {
		t.Errorf("options not applied: %+v", h)
	}
	if h.Protocols == nil || h.Protocols.HTTP2() || !h.Protocols.HTTP1() || h.ForceAttemptHTTP2 {
		t.Errorf("disableHTTP2: protocols %v", h.Protocols)
	}
	if !tr.H2C.Protocols.UnencryptedHTTP2() {
		t.Error("h2c:// servers lost HTTP/2")
	}
	none, err := newHTTPTransports(&config.ServersTransport{MaxIdleConnsPerHost: -1}, nil)
	if err != nil || !none.HTTP.DisableKeepAlives {
		t.Errorf("maxIdleConnsPerHost -1 keeps connections: %v", err)
	}
	def := NewTransports().HTTP
	if def.MaxIdleConnsPerHost != 512 || def.IdleConnTimeout != 90*time.Second || def.ResponseHeaderTimeout != 0 ||
		!def.ForceAttemptHTTP2 || def.HTTP2 != nil || !def.DisableCompression {
		t.Errorf("defaults changed: %+v", def)
	}
}

// TestTCPServersTransportBuild: TCP services get their transport (or the
// static default), keep their load balancer while it is unchanged, and are
// disabled with the reason when it cannot be built.
func TestTCPServersTransportBuild(t *testing.T) {
	defaults, err := NewDefaultTransports(nil, &config.TCPServersTransport{DialTimeout: config.Duration(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(dial time.Duration) *config.Config {
		lb := func(transport string) *config.TCPService {
			return &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{
				Servers: []config.TCPServer{{Address: "127.0.0.1:5432"}}, ServersTransport: transport}}
		}
		return &config.Config{TCP: config.TCP{
			ServersTransports: map[string]*config.TCPServersTransport{
				"fast@file":   {DialTimeout: config.Duration(dial)},
				"broken@file": {TLS: &config.TCPTransportTLS{RootCAs: []string{"/nonexistent/ca.pem"}}},
			},
			Services: map[string]*config.TCPService{"db@file": lb("fast@file"), "plain@file": lb(""), "bad@file": lb("broken@file")},
		}}
	}
	opts := testOptions(nil)
	opts.Transports = defaults
	t1 := Build(Input{Config: cfg(2 * time.Second)}, opts)
	var got []string
	for _, p := range t1.Problems() {
		got = append(got, p.Error())
	}
	want := []string{
		`tcpServersTransport broken@file: tls.rootCAs[0]: open /nonexistent/ca.pem: no such file or directory`,
		`tcpService bad@file: loadBalancer.serversTransport: TCP servers transport "broken@file" is disabled: tls.rootCAs[0]: open /nonexistent/ca.pem: no such file or directory`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if tr := t1.tcp.lbs["db@file"].Transport(); tr == nil || tr.DialTimeout != 2*time.Second {
		t.Errorf("db@file transport %+v", tr)
	}
	if tr := t1.tcp.lbs["plain@file"].Transport(); tr != defaults.TCP {
		t.Errorf("plain@file does not use the static default: %+v", tr)
	}
	opts.Previous = t1
	t2 := Build(Input{Config: cfg(2 * time.Second)}, opts)
	if t2.tcp.lbs["db@file"] != t1.tcp.lbs["db@file"] || t2.tcp.lbs["plain@file"] != t1.tcp.lbs["plain@file"] {
		t.Error("unchanged TCP services were rebuilt")
	}
	opts.Previous = t2
	t3 := Build(Input{Config: cfg(3 * time.Second)}, opts)
	if t3.tcp.lbs["db@file"] == t2.tcp.lbs["db@file"] || t3.tcp.lbs["db@file"].Transport().DialTimeout != 3*time.Second {
		t.Error("a TCP service whose transport changed was kept")
	}
	if t3.tcp.lbs["plain@file"] != t2.tcp.lbs["plain@file"] {
		t.Error("a TCP service on the default transport was rebuilt")
	}
}
