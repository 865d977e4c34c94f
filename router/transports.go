package router

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/tcp"
)

// Defaults of HTTP transports, for fields a servers transport leaves unset.
const (
	defaultDialTimeout         = 10 * time.Second
	defaultKeepAlive           = 30 * time.Second
	defaultMaxIdleConnsPerHost = 512
	defaultIdleConnTimeout     = 90 * time.Second
	defaultTLSHandshakeTimeout = 10 * time.Second
)

// fieldError is a failure to build a transport, blamed on one of its fields.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// NewDefaultTransports returns the transports of services that name no
// servers transport (default@internal): httpDef and tcpDef are the static
// serversTransport and tcpServersTransport sections, nil for Ferry's
// defaults. Files named in them are read now.
func NewDefaultTransports(httpDef *config.ServersTransport, tcpDef *config.TCPServersTransport) (*Transports, error) {
	t, err := newHTTPTransports(httpDef, nil)
	if err != nil {
		return nil, fmt.Errorf("serversTransport.%w", err)
	}
	t.probes = nil // the health registry is made from these transports
	if tcpDef != nil {
		if t.TCP, err = newTCPTransport(tcpDef); err != nil {
			return nil, fmt.Errorf("tcpServersTransport.%w", err)
		}
	}
	return t, nil
}

// newHTTPTransports builds the HTTP and h2c transports of def (nil: the
// defaults). They share shared's buffer pool and tracer; shared may be nil
// (the default transports themselves).
func newHTTPTransports(def *config.ServersTransport, shared *Transports) (*Transports, error) {
	if def == nil {
		def = &config.ServersTransport{}
	}
	ft := config.ForwardingTimeouts{}
	if def.ForwardingTimeouts != nil {
		ft = *def.ForwardingTimeouts
	}
	dialer := &net.Dialer{Timeout: orDefault(ft.DialTimeout, defaultDialTimeout), KeepAlive: defaultKeepAlive}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if c, ok := ctx.Value(fault.ConnKey{}).(fault.Conn); ok && c.ResetsStreams() {
			return nil, errClientResets
		}
		return dialer.DialContext(ctx, network, addr)
	}
	conf, err := clientTLS(def, "")
	if err != nil {
		return nil, err
	}
	base := func() *http.Transport {
		t := &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			MaxIdleConns:          0,
			MaxIdleConnsPerHost:   defaultMaxIdleConnsPerHost,
			IdleConnTimeout:       orDefault(ft.IdleConnTimeout, defaultIdleConnTimeout),
			TLSHandshakeTimeout:   orDefault(ft.DialTimeout, defaultTLSHandshakeTimeout),
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: time.Duration(ft.ResponseHeaderTimeout),
			TLSClientConfig:       conf,
			DisableCompression:    true,
		}
		switch n := def.MaxIdleConnsPerHost; {
		case n > 0:
			t.MaxIdleConnsPerHost = n
		case n < 0:
			t.DisableKeepAlives = true
		}
		if ft.ReadIdleTimeout > 0 || ft.PingTimeout > 0 {
			t.HTTP2 = &http.HTTP2Config{SendPingTimeout: time.Duration(ft.ReadIdleTimeout), PingTimeout: time.Duration(ft.PingTimeout)}
		}
		return t
	}
	h1 := base()
	if def.DisableHTTP2 {
		h1.Protocols = new(http.Protocols)
		h1.Protocols.SetHTTP1(true)
	} else {
		h1.ForceAttemptHTTP2 = true
	}
	h2c := base()
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	t := &Transports{HTTP: h1, H2C: h2c, h1: newH1Client(h1)}
	if shared != nil {
		t.Buffers, t.Tracer = shared.Buffers, shared.Tracer
	} else {
		t.Buffers = newBufferPool()
	}
	t.probes = &health.Transport{HTTP: h1, H2C: h2c}
	return t, nil
}

func orDefault(d config.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}

// newTCPTransport resolves a TCP servers transport.
func newTCPTransport(def *config.TCPServersTransport) (*tcp.Transport, error) {
	t := &tcp.Transport{DialTimeout: time.Duration(def.DialTimeout), KeepAlive: time.Duration(def.DialKeepAlive),
		TerminationDelay: time.Duration(def.TerminationDelay)}
	if pp := def.ProxyProtocol; pp != nil {
		t.ProxyProtocol = pp.Version
		if t.ProxyProtocol == 0 {
			t.ProxyProtocol = 2
		}
	}
	if def.TLS != nil {
		conf, err := clientTLS(def.TLS.TLSClient(), "tls.")
		if err != nil {
			return nil, err
		}
		t.TLS = conf
	}
	return t, nil
}

// clientTLS builds the TLS client configuration of a transport; prefix is
// put before the field names of errors ("tls." for TCP transports).
func clientTLS(def *config.ServersTransport, prefix string) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: def.ServerName, InsecureSkipVerify: def.InsecureSkipVerify} //nolint:gosec // the user asked for it
	if len(def.RootCAs) > 0 {
		conf.RootCAs = x509.NewCertPool()
		for i, ca := range def.RootCAs {
			data, err := readPEM(ca)
			if err == nil && !conf.RootCAs.AppendCertsFromPEM(data) {
				err = fmt.Errorf("no PEM certificate in %s", describePEM(ca))
			}
			if err != nil {
				return nil, &fieldError{fmt.Sprintf("%srootCAs[%d]", prefix, i), err}
			}
		}
	}
	for i, c := range def.Certificates {
		cert, err := loadKeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			msg := err.Error()
			if c.CertFile != "" && c.CertFile != describePEM(c.CertFile) {
				msg = strings.ReplaceAll(msg, c.CertFile, describePEM(c.CertFile))
			}
			return nil, &fieldError{fmt.Sprintf("%scertificates[%d]", prefix, i), errors.New(config.RedactText(msg))}
		}
		conf.Certificates = append(conf.Certificates, *cert)
	}
	if def.PeerCertURI != "" && !def.InsecureSkipVerify {
		// The chain is verified as usual but the host name is not: the
		// server is recognised by a URI SAN instead (SPIFFE IDs).
		roots, want := conf.RootCAs, def.PeerCertURI
		conf.InsecureSkipVerify = true //nolint:gosec // replaced by VerifyConnection
		conf.VerifyConnection = func(cs tls.ConnectionState) error { return verifyPeerURI(cs, roots, want) }
	}
	return conf, nil
}

// verifyPeerURI checks that the server's certificate chains to roots (nil:
// the system's) and has the URI SAN want.
func verifyPeerURI(cs tls.ConnectionState, roots *x509.CertPool, want string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("tls: verify the server's certificate: %w", err)
	}
	for _, u := range leaf.URIs {
		if u.String() == want {
			return nil
		}
	}
	return fmt.Errorf("tls: the server's certificate has no URI SAN %q (peerCertURI)", want)
}

// readPEM returns PEM text given inline, or the contents of the file it names.
func readPEM(v string) ([]byte, error) {
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

// describePEM names a file path, or says the value was inline PEM text
// (too long for a message).
func describePEM(v string) string {
	if strings.Contains(v, "-----BEGIN") {
		return "(inline PEM)"
	}
	return v
}

// tlsStamp identifies the versions of the files a transport reads, so a
// rebuild notices a renewed CA or client certificate.
func tlsStamp(def *config.ServersTransport) string {
	if def == nil {
		return ""
	}
	var b strings.Builder
	for _, ca := range def.RootCAs {
		b.WriteString(fileStamp(ca))
		b.WriteByte('|')
	}
	for _, c := range def.Certificates {
		b.WriteString(fileStamp(c.CertFile))
		b.WriteByte('|')
		b.WriteString(fileStamp(c.KeyFile))
		b.WriteByte('|')
	}
	return b.String()
}

// builtTransport is one built servers transport of a table, reused by the
// next table while its definition and files are unchanged.
type builtTransport[D any, T any] struct {
	def   *D
	stamp string
	tr    T
}

// transportSet is the servers transports of a table, by qualified name;
// disabled ones are absent.
type transportSet struct {
	http map[string]*builtTransport[config.ServersTransport, *Transports]
	tcp  map[string]*builtTransport[config.TCPServersTransport, *tcp.Transport]
}

// buildTransports builds http.serversTransports and tcp.serversTransports,
// taking from the previous table each one whose definition and files did
// not change, so that its connection pool carries over. One that cannot be
// built (a file that cannot be read, a bad key pair) is a problem of its
// own; the services naming it are disabled when they are built.
func (b *builder) buildTransports() {
	set := &transportSet{
		http: make(map[string]*builtTransport[config.ServersTransport, *Transports], len(b.cfg.HTTP.ServersTransports)),
		tcp:  make(map[string]*builtTransport[config.TCPServersTransport, *tcp.Transport], len(b.cfg.TCP.ServersTransports)),
	}
	b.table.transports = set
	var prev *transportSet
	if b.prev != nil && b.prev.transports != nil {
		prev = b.prev.transports
	}
	for _, name := range sortedKeys(b.cfg.HTTP.ServersTransports) {
		def := b.cfg.HTTP.ServersTransports[name]
		if def == nil || b.disabled(config.KindServersTransport, name) {
			continue
		}
		stamp := tlsStamp(def)
		if prev != nil {
			if old := prev.http[name]; old != nil && old.stamp == stamp && (old.def == def || reflect.DeepEqual(old.def, def)) {
				set.http[name] = old
				continue
			}
		}
		tr, err := newHTTPTransports(def, b.opts.Transports)
		if err != nil {
			b.transportProblem(config.KindServersTransport, name, err)
			continue
		}
		set.http[name] = &builtTransport[config.ServersTransport, *Transports]{def: def, stamp: stamp, tr: tr}
	}
	for _, name := range sortedKeys(b.cfg.TCP.ServersTransports) {
		def := b.cfg.TCP.ServersTransports[name]
		if def == nil || b.disabled(config.KindTCPServersTransport, name) {
			continue
		}
		stamp := tlsStamp(def.TLS.TLSClient())
		if prev != nil {
			if old := prev.tcp[name]; old != nil && old.stamp == stamp && (old.def == def || reflect.DeepEqual(old.def, def)) {
				set.tcp[name] = old
				continue
			}
		}
		tr, err := newTCPTransport(def)
		if err != nil {
			b.transportProblem(config.KindTCPServersTransport, name, err)
			continue
		}
		set.tcp[name] = &builtTransport[config.TCPServersTransport, *tcp.Transport]{def: def, stamp: stamp, tr: tr}
	}
}

// transportProblem records why a transport could not be built.
func (b *builder) transportProblem(kind config.Kind, name string, err error) {
	p := config.Problem{Kind: kind, Name: name, Message: err.Error()}
	var fe *fieldError
	if errors.As(err, &fe) {
		p.Field, p.Message = fe.field, fe.err.Error()
	}
	b.problem(p)
}

// serviceTransports returns the transports an HTTP service's servers are
// reached through. A service naming a disabled transport is disabled, with
// the transport's reasons (false).
func (b *builder) serviceTransports(name string, def *config.Service) (*Transports, bool) {
	if def.LoadBalancer == nil {
		return b.opts.Transports, true
	}
	ref := def.LoadBalancer.ServersTransport
	if ref == "" || ref == config.DefaultTransport {
		return b.opts.Transports, true
	}
	if t := b.table.transports.http[ref]; t != nil {
		return t.tr, true
	}
	b.problem(config.Problem{Kind: config.KindService, Name: name, Field: "loadBalancer.serversTransport",
		Message: b.disabledTransport(config.KindServersTransport, "servers transport", ref)})
	return nil, false
}

// tcpServiceTransport returns the transport a TCP load balancer's servers
// are reached through (nil: the plain default), and false when it names a
// disabled transport; the problem is then recorded.
func (b *builder) tcpServiceTransport(name string, lb *config.TCPLoadBalancer) (*tcp.Transport, bool) {
	ref := lb.ServersTransport
	if ref == "" || ref == config.DefaultTransport {
		if b.opts.Transports != nil {
			return b.opts.Transports.TCP, true
		}
		return nil, true
	}
	if t := b.table.transports.tcp[ref]; t != nil {
		return t.tr, true
	}
	b.problem(config.Problem{Kind: config.KindTCPService, Name: name, Field: "loadBalancer.serversTransport",
		Message: b.disabledTransport(config.KindTCPServersTransport, "TCP servers transport", ref)})
	return nil, false
}

// disabledTransport says why a service cannot use transport ref.
func (b *builder) disabledTransport(kind config.Kind, what, ref string) string {
	msg := fmt.Sprintf("%s %q is disabled", what, ref)
	if errs := b.errs[config.ObjectID{Kind: kind, Name: ref}]; len(errs) > 0 {
		msg += ": " + strings.Join(errs, "; ")
	}
	return msg
}

// retireTransports closes the idle connections of the transports prev used
// and next does not. Requests still in flight on prev finish; their
// connections are closed when they become idle.
func retireTransports(prev, next *Table) {
	if prev == nil || prev.transports == nil {
		return
	}
	var keep map[*Transports]bool
	if next != nil && next.transports != nil {
		keep = make(map[*Transports]bool, len(next.transports.http))
		for _, t := range next.transports.http {
			keep[t.tr] = true
		}
	}
	for _, t := range prev.transports.http {
		if !keep[t.tr] {
			t.tr.Close()
		}
	}
}

// sameTransports reports whether a service built with transports a can
// serve with b: the same ones, or both the caller's defaults (named
// transports carry probes, the defaults do not). The defaults are meant to
// live as long as the process; a caller handing Build new ones each time
// (tests, `ferry check`) does not make every service new.
func sameTransports(a, b *Transports) bool {
	return a == b || (a != nil && b != nil && a.probes == nil && b.probes == nil)
}
