package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/consul"
	"github.com/ferryproxy/ferry/providers/docker"
	"github.com/ferryproxy/ferry/providers/etcd"
	"github.com/ferryproxy/ferry/providers/file"
	"github.com/ferryproxy/ferry/providers/kubernetes/gateway"
	"github.com/ferryproxy/ferry/providers/kubernetes/ingress"
	"github.com/ferryproxy/ferry/providers/merge"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/api"
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/entrypoint"
	"github.com/ferryproxy/ferry/router/metrics"
	"github.com/ferryproxy/ferry/router/ocsp"
	"github.com/ferryproxy/ferry/router/tracing"
)

// firstConfigWait bounds how long listeners wait for the providers' first
// configuration before accepting connections.
const firstConfigWait = 5 * time.Second

// serve runs Ferry until ctx ends.
func serve(ctx context.Context, static *configs.Static) error {
	log, err := newLogger(static.Log, os.Stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	log.Info("starting", zap.String("version", version))
	reg := newMetrics(static)

	entryPoints := routerEntryPoints(static)
	access, closeAccess, err := openAccessLog(static.AccessLog)
	if err != nil {
		return err
	}
	defer closeAccess()
	defaultCert, err := router.DefaultCertificate()
	if err != nil {
		return err
	}
	certs, err := newACME(static, log.Named("acme"), reg)
	if err != nil {
		return err
	}
	var certSource router.CertificateSource
	var apiOpts []api.Option
	apiOpts = append(apiOpts, api.WithEntryPoints(entryPointList(static))) // for the dashboard (dashboard.go)
	if certs != nil {
		certSource, apiOpts = certs, append(apiOpts, api.WithACME(certs))
	}
	stapler := ocsp.New(log.Named("ocsp")) // OCSP staples for tls.certificates
	apiOpts = append(apiOpts, api.WithOCSP(stapler.Statuses))
	transports, err := router.NewDefaultTransports(static.ServersTransport, static.TCPServersTransport)
	if err != nil {
		return err
	}
	defer transports.Close()
	topts, err := static.Tracing.Options()
	if err != nil {
		return err
	}
	tracer, err := tracing.New(ctx, topts, log.Named("tracing"))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(sctx); err != nil {
			log.Warn("tracing shutdown", zap.Error(err))
		}
	}()
	transports.Tracer = tracer
	sw := router.NewSwitcher(log.Named("router"), router.SwitcherOptions{
		EntryPoints: entryPoints, Transports: transports, AccessLog: access, DefaultCertificate: defaultCert,
		Certificates: certSource, UDPEntryPoints: static.UDPEntryPointNames(), OCSP: stapler,
		Metrics: reg, Internal: internalServices(reg, apiOpts, static.DashboardEnabled()),
		DefaultRuleSyntax: static.DefaultRuleSyntax(),
	})
	defer sw.Close() // stops the active health checks
	reg.CertificatesFrom(certificateSource(sw, certs))

	listeners := make([]*entrypoint.Listener, 0, len(entryPoints))
	for i, ep := range entryPoints {
		cfg := static.EntryPoints[ep.Name]
		lim := cfg.Limits()
		fwdTrusted, fwdInsecure := cfg.ForwardedTrust()
		l, err := entrypoint.Listen(log.Named("entrypoint").With(zap.String("entryPoint", ep.Name)), entrypoint.Options{
			Name: ep.Name, Address: cfg.Address, GraceTimeout: lim.GraceTimeout,
			ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout, WriteTimeout: lim.WriteTimeout,
			IdleTimeout: lim.IdleTimeout, MaxHeaderBytes: lim.MaxHeaderBytes, MaxURLLength: lim.MaxURLLength,
			MaxConcurrentStreams: lim.MaxConcurrentStreams, MaxConnections: lim.MaxConnections,
			AllowedUpgrades: lim.AllowedUpgrades, TCPRoutes: sw.TCPRoutes(i), ProxyProtocolTrustedIPs: cfg.TrustedIPs(),
			ForwardedTrustedIPs: fwdTrusted, ForwardedInsecure: fwdInsecure, TLSConfigForClient: sw.TLSConfigForClient(i),
			HTTPConnections: sw.CountConnections(ep.Name, "HTTP", reg.OpenConnections(ep.Name, "HTTP")),
			TCPConnections:  sw.CountConnections(ep.Name, "TCP", reg.OpenConnections(ep.Name, "TCP")),
			HTTP3:           http3Options(cfg, ep.Name, sw, reg),
		}, plainHandler(static, ep.Name, sw.Handler(i, false), certs), sw.Handler(i, true), sw.GetCertificate)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	udpListeners, err := listenUDP(static, static.UDPEntryPointNames(), sw, log, reg)
	if err != nil {
		return err
	}
	var apiLn net.Listener
	if static.API != nil && static.API.Insecure {
		if apiLn, err = net.Listen("tcp", static.API.Address); err != nil {
			return fmt.Errorf("api: listen on %s: %w", static.API.Address, err)
		}
	}

	var metricsLn net.Listener
	if p := static.Prometheus(); p != nil && p.Address != "" {
		if metricsLn, err = net.Listen("tcp", p.Address); err != nil {
			return fmt.Errorf("metrics: listen on %s: %w", p.Address, err)
		}
	}

	provs := buildProviders(static, log, reg)
	updates := make(chan providers.Update, 16)
	merger := merge.New(log.Named("merge"), merge.Options{
		Debounce: time.Duration(static.Providers.Debounce), MaxWait: time.Duration(static.Providers.MaxWait),
		OnUpdate: func(p string) { reg.ProviderUpdated(p, time.Now()); sw.ProviderUpdated(p) },
	})
	ready := make(chan struct{})
	if len(provs) == 0 {
		close(ready)
	}
	first := true
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range provs {
		g.Go(func() error {
			if err := p.Run(gctx, updates); err != nil && gctx.Err() == nil {
				return fmt.Errorf("provider %s: %w", p.Name(), err)
			}
			return nil
		})
	}
	g.Go(func() error {
		merger.Run(gctx, updates, func(s *merge.Snapshot) {
			t := sw.Apply(router.Input{Config: s.Config, Problems: s.Problems, Origins: s.Origins})
			if certs != nil {
				// The applied table's configuration: with the entry
				// points' default certResolver on their routers.
				certs.Sync(t.Config()) // does not block
			}
			if first {
				first = false
				close(ready)
			}
		})
		return nil
	})
	g.Go(func() error {
		select {
		case <-ready:
		case <-time.After(firstConfigWait):
			log.Warn("no configuration from the providers yet; serving anyway", zap.Duration("waited", firstConfigWait))
		case <-gctx.Done():
		}
		if certs != nil { // stored certificates are served from the first connection
			certs.WaitLoaded(gctx, firstConfigWait)
		}
		for i, l := range listeners {
			log.Info("entry point listening", zap.String("entryPoint", entryPoints[i].Name), zap.Stringer("address", l.Addr()))
			g.Go(func() error { return l.Serve(gctx) })
		}
		for i, l := range udpListeners {
			log.Info("entry point listening", zap.String("entryPoint", static.UDPEntryPointNames()[i]), zap.Stringer("address", l.Addr()))
			g.Go(func() error { return l.Serve(gctx) })
		}
		return nil
	})
	if certs != nil {
		g.Go(func() error { return certs.Run(gctx) })
	}
	g.Go(func() error { return stapler.Run(gctx) })
	if metricsLn != nil {
		g.Go(func() error { return serveMetrics(gctx, metricsLn, reg, log.Named("metrics")) })
	}
	if apiLn != nil {
		g.Go(func() error {
			return serveAPI(gctx, apiLn, sw, log.Named("api"), static.API.Debug, insecureAPIOptions(static, apiOpts)...)
		})
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

// routerEntryPoints describes the TCP entry points to the router (UDP ones
// are served by listenUDP), in the order of static.TCPEntryPointNames.
func routerEntryPoints(static *configs.Static) []router.EntryPoint {
	eps := make([]router.EntryPoint, 0, len(static.EntryPoints))
	for _, name := range static.TCPEntryPointNames() {
		ep := static.EntryPoints[name]
		mws, resolver, domains := ep.RouterDefaults()
		eps = append(eps, router.EntryPoint{Name: name, TLS: ep.HTTP != nil && ep.HTTP.TLS != nil,
			TLSOptions: ep.TLSOptions(), Middlewares: mws, CertResolver: resolver, Domains: domains})
	}
	return eps
}

func buildProviders(static *configs.Static, log *zap.Logger, reg *metrics.Registry) []providers.Provider {
	var out []providers.Provider
	if p := newInternalProvider(static); p != nil {
		out = append(out, p)
	}
	plog := func(name string) *zap.Logger { return providerLogger(log, name, reg) }
	if f := static.Providers.File; f != nil {
		out = append(out, file.New(plog("file"), file.Options{
			Filename: f.Filename, Directory: f.Directory, Watch: f.Watches(), EmptyGrace: f.EmptyGraceDuration(),
		}))
	}
	if d := static.Providers.Docker; d != nil {
		out = append(out, docker.New(plog("docker"), *d))
	}
	if c := static.Providers.ConsulCatalog; c != nil {
		out = append(out, consul.NewCatalog(plog("consulcatalog"), *c))
	}
	if c := static.Providers.Consul; c != nil {
		out = append(out, consul.NewKV(plog("consul"), *c))
	}
	if e := static.Providers.Etcd; e != nil {
		out = append(out, etcd.New(plog("etcd"), *e))
	}
	if k := static.Providers.KubernetesIngress; k != nil {
		out = append(out, ingress.New(plog("kubernetesingress"), *k))
	}
	if k := static.KubernetesGatewayOptions(); k != nil {
		out = append(out, gateway.New(plog("kubernetesgateway"), *k))
	}
	return out
}

func serveAPI(ctx context.Context, ln net.Listener, sw *router.Switcher, log *zap.Logger, debug bool, opts ...api.Option) error {
	h := api.Handler(sw, opts...)
	if debug {
		h = withDebug(h) // debug.go
	}
	return servePlain(ctx, ln, h, log, "api")
}

// servePlain serves h on a plain listener until ctx ends; what names it
// in the log and in errors.
func servePlain(ctx context.Context, ln net.Listener, h http.Handler, log *zap.Logger, what string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(log)}
	log.Info(what+" listening", zap.Stringer("address", ln.Addr()))
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func openAccessLog(cfg *configs.AccessLogConfig) (*router.AccessLog, func(), error) {
	if cfg == nil {
		return nil, func() {}, nil
	}
	var w io.Writer = os.Stdout
	closer := func() {}
	if cfg.FilePath != "" {
		f, err := os.OpenFile(cfg.FilePath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("access log: %w", err)
		}
		w, closer = f, func() { _ = f.Close() }
	}
	a, err := router.NewAccessLog(w, cfg.Format)
	if err != nil {
		closer()
		return nil, nil, err
	}
	return a, closer, nil
}

func newLogger(cfg configs.LogConfig, w io.Writer) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if cfg.Level != "" {
		if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
			return nil, fmt.Errorf("log.level: %w", err)
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	encCfg.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	if cfg.Format == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	return zap.New(newRedactCore(zapcore.NewCore(enc, zapcore.AddSync(w), level))), nil
}

// qualifyProblems qualifies the object names of a provider's problems.
func qualifyProblems(ps []config.Problem, provider string) []config.Problem {
	out := make([]config.Problem, len(ps))
	for i, p := range ps {
		if p.Kind != config.KindSource {
			p.Name = config.Qualify(p.Name, provider)
		}
		out[i] = p
	}
	return out
}
