package main

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/acme"
	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/api"
	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/metrics"
)

// Names of Ferry's own services, usable as any router's service.
const (
	apiService        = "api@internal"
	pingService       = "ping@internal"
	prometheusService = "prometheus@internal"
)

// newMetrics makes the metrics registry, or nil when metrics are off.
func newMetrics(static *configs.Static) *metrics.Registry {
	p := static.Prometheus()
	if p == nil {
		return nil
	}
	eps, routers, services := p.Labels()
	return metrics.New(metrics.Options{Buckets: p.Buckets, EntryPoints: eps, Routers: routers, Services: services})
}

// internalServices returns Ferry's own services once the switcher exists;
// dashboard adds dashboard@internal (dashboard.go).
func internalServices(reg *metrics.Registry, apiOpts []api.Option, dashboard bool) func(*router.Switcher) map[string]http.Handler {
	return func(sw *router.Switcher) map[string]http.Handler {
		m := map[string]http.Handler{
			apiService: api.Handler(sw, apiOpts...),
			pingService: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte("OK"))
			}),
		}
		if reg != nil {
			m[prometheusService] = reg.Handler()
		}
		if dashboard {
			m[dashboardService] = dashboardHandler(sw, apiOpts)
		}
		return m
	}
}

// certificateSource lists the served certificates for the expiry gauges.
func certificateSource(sw *router.Switcher, mgr *acme.Manager) func() []metrics.Certificate {
	return func() []metrics.Certificate {
		leaves := sw.Certificates()
		if mgr != nil {
			leaves = append(leaves, mgr.Leaves()...)
		}
		out := make([]metrics.Certificate, 0, len(leaves))
		seen := map[string]bool{}
		for _, l := range leaves {
			serial := l.SerialNumber.String()
			if seen[serial] {
				continue
			}
			seen[serial] = true
			out = append(out, metrics.Certificate{CN: l.Subject.CommonName, SANs: sans(l), Serial: serial, NotAfter: l.NotAfter})
		}
		return out
	}
}

func sans(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return strings.Join(names, ",")
}

// providerLogger is a provider's logger; with metrics on, every warning or
// error it logs counts in ferry_provider_errors_total.
func providerLogger(log *zap.Logger, name string, reg *metrics.Registry) *zap.Logger {
	l := log.Named("provider." + name)
	if reg == nil {
		return l
	}
	return l.WithOptions(zap.Hooks(func(e zapcore.Entry) error {
		if e.Level >= zapcore.WarnLevel {
			reg.ProviderError(name)
		}
		return nil
	}))
}

// internalProvider adds the routers Ferry serves its own services with:
// prometheus@internal on metrics.prometheus.entryPoint.
type internalProvider struct{ cfg *config.Config }

var _ providers.Provider = (*internalProvider)(nil)

// newInternalProvider returns the provider, or nil when there is nothing
// to route.
func newInternalProvider(static *configs.Static) *internalProvider {
	p := static.Prometheus()
	if p == nil || p.EntryPoint == "" || p.ManualRouting {
		return nil
	}
	cfg := &config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{
		"prometheus": {Rule: "PathPrefix(`/metrics`)", Service: prometheusService, EntryPoints: []string{p.EntryPoint},
			Priority: 1 << 30},
	}}}
	return &internalProvider{cfg: cfg}
}

func (p *internalProvider) Name() string { return config.Internal }

func (p *internalProvider) Run(ctx context.Context, out chan<- providers.Update) error {
	select {
	case out <- providers.Update{Provider: config.Internal, Config: p.cfg}:
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

// serveMetrics serves /metrics on a plain listener until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, reg *metrics.Registry, log *zap.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	return servePlain(ctx, ln, mux, log, "metrics")
}
