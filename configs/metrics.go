package configs

import (
	"fmt"
	"slices"
)

// MetricsConfig chooses the metrics Ferry exports.
type MetricsConfig struct {
	// Prometheus exports metrics in Prometheus's format.
	Prometheus *PrometheusConfig `json:"prometheus"`
}

// PrometheusConfig configures the Prometheus metrics (Traefik's names).
type PrometheusConfig struct {
	// Buckets are the request duration histograms' upper bounds in seconds
	// (default [0.1, 0.3, 1.2, 5.0]).
	Buckets []float64 `json:"buckets"`
	// AddEntryPointsLabels exports request metrics by entry point (default true).
	AddEntryPointsLabels *bool `json:"addEntryPointsLabels"`
	// AddRoutersLabels exports request metrics by router (default false:
	// one series set per router can be many).
	AddRoutersLabels *bool `json:"addRoutersLabels"`
	// AddServicesLabels exports request metrics by service (default true).
	AddServicesLabels *bool `json:"addServicesLabels"`
	// EntryPoint serves /metrics on this entry point through the implicit
	// router prometheus@internal (unless ManualRouting). Routers of your own
	// can use the service prometheus@internal with any middleware.
	EntryPoint string `json:"entryPoint"`
	// ManualRouting leaves out the implicit router: /metrics is reached
	// only through routers whose service is prometheus@internal.
	ManualRouting bool `json:"manualRouting"`
	// Address, when set, serves /metrics on a plain listener of its own
	// (host:port), without authentication.
	Address string `json:"address"`
}

// Labels reports which request metrics are exported, defaults applied.
func (p *PrometheusConfig) Labels() (entryPoints, routers, services bool) {
	def := func(b *bool, d bool) bool {
		if b == nil {
			return d
		}
		return *b
	}
	return def(p.AddEntryPointsLabels, true), def(p.AddRoutersLabels, false), def(p.AddServicesLabels, true)
}

// Prometheus returns the Prometheus configuration, or nil when it is off.
func (s *Static) Prometheus() *PrometheusConfig {
	if s.Metrics == nil {
		return nil
	}
	return s.Metrics.Prometheus
}

// DashboardEnabled reports whether the dashboard is served with the API.
func (s *Static) DashboardEnabled() bool {
	return s.API != nil && (s.API.Dashboard == nil || *s.API.Dashboard)
}

// DefaultInsecureAPIAddress is where the insecure API listens when
// api.address is not set: Traefik's entry point "traefik".
const DefaultInsecureAPIAddress = ":8080"

// checkAPI checks the API section and fills in the insecure API's address.
func (s *Static) checkAPI(name string) []string {
	a := s.API
	switch {
	case a == nil:
		return nil
	case a.Insecure && a.Address == "":
		a.Address = DefaultInsecureAPIAddress
	case a.Debug && !a.Insecure:
		return []string{fmt.Sprintf("%s: api.debug: the profiler is served on the insecure API listener only; "+
			"set api.insecure: true (and api.address on a private interface)", name)}
	case !a.Insecure && a.Address != "":
		return []string{fmt.Sprintf("%s: api.address: a plain listener without authentication; set api.insecure: true "+
			"to keep it, or reach the API through a router whose service is api@internal (with basicAuth, ipAllowList, TLS…)", name)}
	}
	return nil
}

func (s *Static) checkMetrics(name string) []string {
	p := s.Prometheus()
	if p == nil {
		return nil
	}
	var problems []string
	if p.EntryPoint != "" {
		if ep := s.EntryPoints[p.EntryPoint]; ep == nil || ep.IsUDP() {
			problems = append(problems, fmt.Sprintf("%s: metrics.prometheus.entryPoint: %q is not an HTTP entry point", name, p.EntryPoint))
		}
	}
	for i, b := range p.Buckets {
		if i > 0 && b <= p.Buckets[i-1] {
			problems = append(problems, fmt.Sprintf("%s: metrics.prometheus.buckets: must increase (%v after %v)", name, b, p.Buckets[i-1]))
			break
		}
	}
	if slices.ContainsFunc(p.Buckets, func(b float64) bool { return b <= 0 }) {
		problems = append(problems, fmt.Sprintf("%s: metrics.prometheus.buckets: must be positive", name))
	}
	return problems
}
