package router

import (
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/health"
	"github.com/ferryproxy/ferry/router/metrics"
)

// newHealthRegistry returns the registry of active health checkers; probes
// go through the upstream transports, so they test what requests use.
func newHealthRegistry(log *zap.Logger, tr *Transports, m *metrics.Registry) *health.Registry {
	opts := health.Options{}
	if m != nil {
		opts.OnChange = func(service, url string, to health.State) { m.HealthChanged(service, url, to.String()) }
	}
	if tr != nil {
		opts.Transport, opts.H2C = tr.HTTP, tr.H2C
	}
	return health.NewRegistry(log.Named("health"), opts)
}

// Close stops the switcher's background work (active health checks) and
// waits for it to end. The live table keeps serving, with the health it
// last knew.
func (s *Switcher) Close() { s.health.Close() }
