// Package tcp is Ferry's layer 4: TCP routes chosen by TLS server name (or
// taking every connection), services that balance connections over servers,
// TLS passthrough and termination, PROXY protocol towards servers, and the
// bidirectional copy with half-close and idle timeout.
package tcp

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/rule"
)

// Route is one enabled TCP router bound to an entry point.
type Route struct {
	// Name is the router's qualified name.
	Name string
	// ServiceName is the name of its service.
	ServiceName string
	// Priority orders routes; higher first.
	Priority int
	// Rule selects connections.
	Rule *rule.TCPRule
	// TLS makes the route match TLS connections; otherwise it takes
	// connections that do not start with a TLS handshake.
	TLS bool
	// Passthrough forwards TLS untouched; a TLS route without it terminates TLS.
	Passthrough bool
	// TLSConfig, when set, is the configuration of the TLS handshakes the
	// route terminates (its TLS options); nil: TLS 1.2+ with
	// ServeOptions.GetCertificate.
	TLSConfig *tls.Config
	// Service receives the connections.
	Service Service
	// Guards are the router's TCP middlewares, in order (middleware.go).
	Guards []NamedGuard
}

func (r *Route) before(o *Route) bool {
	if r.Priority != o.Priority {
		return r.Priority > o.Priority
	}
	return r.Name < o.Name
}

func compareRoutes(a, b *Route) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// Routes are the TCP routes of one entry point. They are built once, then
// only read.
type Routes struct {
	bySNI  map[string][]*Route // TLS routes whose rule requires a server name
	tlsAny []*Route            // other TLS routes
	plain  []*Route            // routes for connections without TLS
	// HTTP is true when HTTP routers share the entry point.
	HTTP bool
}

// Add adds a route; call Sort once every route is added.
func (rs *Routes) Add(r *Route) {
	if !r.TLS {
		rs.plain = append(rs.plain, r)
		return
	}
	hosts := r.Rule.Hosts()
	if len(hosts) == 0 {
		rs.tlsAny = append(rs.tlsAny, r)
		return
	}
	if rs.bySNI == nil {
		rs.bySNI = make(map[string][]*Route)
	}
	for _, h := range hosts {
		rs.bySNI[h] = append(rs.bySNI[h], r)
	}
}

// Sort orders every list by priority.
func (rs *Routes) Sort() {
	for _, l := range rs.bySNI {
		slices.SortFunc(l, compareRoutes)
	}
	slices.SortFunc(rs.tlsAny, compareRoutes)
	slices.SortFunc(rs.plain, compareRoutes)
}

// Empty reports whether there is no route at all.
func (rs *Routes) Empty() bool {
	return rs == nil || len(rs.bySNI) == 0 && len(rs.tlsAny) == 0 && len(rs.plain) == 0
}

// HasTLS reports whether some route takes TLS connections.
func (rs *Routes) HasTLS() bool { return rs != nil && (len(rs.bySNI) > 0 || len(rs.tlsAny) > 0) }

// HasPlain reports whether some route takes connections without TLS.
func (rs *Routes) HasPlain() bool { return rs != nil && len(rs.plain) > 0 }

// Direct reports whether connections can be routed without reading a byte
// first: only routes without TLS, and no HTTP router, on the entry point.
// Protocols where the server speaks first (SMTP, MySQL) need this.
func (rs *Routes) Direct() bool { return rs.HasPlain() && !rs.HasTLS() && !rs.HTTP }

// MatchTLS returns the highest-priority TLS route matching req, or nil.
func (rs *Routes) MatchTLS(req *rule.TCPRequest) *Route {
	if rs == nil {
		return nil
	}
	hosted, anyHost := rs.bySNI[req.SNI], rs.tlsAny
	for len(hosted) > 0 || len(anyHost) > 0 {
		var r *Route
		if len(anyHost) == 0 || (len(hosted) > 0 && hosted[0].before(anyHost[0])) {
			r, hosted = hosted[0], hosted[1:]
		} else {
			r, anyHost = anyHost[0], anyHost[1:]
		}
		if r.Rule.Match(req) {
			return r
		}
	}
	return nil
}

// MatchPlain returns the highest-priority route for a connection without
// TLS, or nil.
func (rs *Routes) MatchPlain(req *rule.TCPRequest) *Route {
	if rs == nil {
		return nil
	}
	for _, r := range rs.plain {
		if r.Rule.Match(req) {
			return r
		}
	}
	return nil
}

// ServeOptions are an entry point's settings for forwarded connections.
type ServeOptions struct {
	// Idle closes a connection on which nothing moved for this long.
	Idle time.Duration
	// HandshakeTimeout bounds the TLS handshake of terminating routes.
	HandshakeTimeout time.Duration
	// GetCertificate chooses certificates for terminating routes.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Log receives connection failures.
	Log *zap.Logger
	// Buffers, when not nil, lends the copy buffers.
	Buffers *BufferPool
}

// Serve forwards c to the route's service until both sides are done, and
// closes c. It terminates TLS first when the route asks for it. ctx bounds
// the connection to the server, not the forwarding.
func (r *Route) Serve(ctx context.Context, c net.Conn, opts ServeOptions) {
	release, ok := r.admit(c, opts.Log)
	if !ok {
		_ = c.Close()
		return
	}
	defer release()
	client := c
	if r.TLS && !r.Passthrough {
		cfg := r.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: opts.GetCertificate}
		}
		tc := tls.Server(c, cfg)
		hctx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			r.logFailure(opts.Log, "TLS handshake failed", c, err)
			_ = c.Close()
			return
		}
		client = tc
	}
	dctx, cancel := context.WithTimeout(ctx, 2*DialTimeout)
	up, err := r.Service.Dial(dctx, c.RemoteAddr(), c.LocalAddr())
	cancel()
	if err != nil {
		r.logFailure(opts.Log, "no server accepted the connection", c, err)
		_ = client.Close()
		return
	}
	res := Pipe(client, up.Conn, PipeOptions{Idle: opts.Idle, TerminationDelay: up.TerminationDelay, Buffers: opts.Buffers})
	if res.Err != nil {
		if ce := opts.Log.Check(zapcore.DebugLevel, "TCP connection aborted"); ce != nil {
			ce.Write(zap.String("router", r.Name), zap.String("server", up.Server), zap.Int64("up", res.Up),
				zap.Int64("down", res.Down), zap.Error(res.Err))
		}
	}
}

func (r *Route) logFailure(log *zap.Logger, msg string, c net.Conn, err error) {
	if ce := log.Check(zapcore.WarnLevel, msg); ce != nil {
		ce.Write(zap.String("router", r.Name), zap.String("service", r.ServiceName),
			zap.Stringer("client", c.RemoteAddr()), zap.Error(err))
	}
}
