package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferryproxy/ferry/providers/consul"
	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/providers/docker"
	"github.com/ferryproxy/ferry/providers/etcd"
	"github.com/ferryproxy/ferry/providers/kubernetes/gateway"
	"github.com/ferryproxy/ferry/providers/kubernetes/ingress"
	"github.com/ferryproxy/ferry/router/config"
)

// Static is Ferry's static configuration: what is fixed for the life of the
// process (entry points, providers, API, logs).
type Static struct {
	// EntryPoints are the addresses Ferry listens on, by name.
	EntryPoints map[string]*EntryPointConfig `json:"entryPoints"`
	// Providers are the sources of dynamic configuration.
	Providers ProvidersConfig `json:"providers"`
	// API serves the JSON API when set.
	API *APIConfig `json:"api"`
	// Log configures Ferry's own log.
	Log LogConfig `json:"log"`
	// AccessLog, when set, logs every request.
	AccessLog *AccessLogConfig `json:"accessLog"`
	// Metrics exports metrics.
	Metrics *MetricsConfig `json:"metrics"`
	// CertificatesResolvers obtain certificates automatically for the routers
	// that name them in tls.certResolver, by resolver name.
	CertificatesResolvers map[string]*CertResolverConfig `json:"certificatesResolvers"`
	// Tracing, when set, traces requests with OpenTelemetry (OTLP export).
	Tracing *TracingConfig `json:"tracing"`
	// ServersTransport is how HTTP services that name no servers transport
	// (default@internal) reach their servers: rootCAs, insecureSkipVerify,
	// maxIdleConnsPerHost, forwardingTimeouts… (configs/transport.go).
	ServersTransport *config.ServersTransport `json:"serversTransport"`
	// TCPServersTransport is how TCP services that name no servers transport
	// reach their servers: dialTimeout, dialKeepAlive, terminationDelay, tls.
	TCPServersTransport *config.TCPServersTransport `json:"tcpServersTransport"`
	// Core holds core.defaultRuleSyntax, the rule syntax of routers that set
	// no ruleSyntax (configs/core.go).
	Core *CoreConfig `json:"core"`
}

// EntryPointConfig is one entry point.
type EntryPointConfig struct {
	// Address is host:port to listen on, e.g. ":80" or "127.0.0.1:8080"; a
	// "/udp" suffix (":5353/udp") makes a UDP entry point, "/tcp" is the default.
	Address string `json:"address"`
	// UDP holds the options of a UDP entry point.
	UDP *EntryPointUDP `json:"udp"`
	udp bool           // the address has the /udp suffix (set by parseStatic)
	// HTTP holds HTTP options of the entry point.
	HTTP *EntryPointHTTP `json:"http"`
	// HTTP2 holds HTTP/2 options of the entry point.
	HTTP2 *EntryPointHTTP2 `json:"http2"`
	// HTTP3, when present, also serves HTTP/3 (QUIC) on the entry point's
	// port, UDP, with the same routers and certificates (configs/http3.go).
	HTTP3 *EntryPointHTTP3 `json:"http3"`
	// Transport holds connection timeouts.
	Transport *EntryPointTransport `json:"transport"`
	// ProxyProtocol, when set, accepts PROXY protocol headers from trusted peers.
	ProxyProtocol *EntryPointProxyProtocol `json:"proxyProtocol"`
	// ForwardedHeaders chooses the peers whose X-Forwarded-* headers are
	// believed (default: none; Ferry sets them itself).
	ForwardedHeaders *EntryPointForwardedHeaders `json:"forwardedHeaders"`
}

// ProvidersConfig lists the providers and the merger's timing.
type ProvidersConfig struct {
	// Debounce is the quiet window before a change is applied (default 100ms).
	Debounce config.Duration `json:"debounce"`
	// MaxWait bounds how long a stream of changes may delay an update (default 1s).
	MaxWait config.Duration `json:"maxWait"`
	// File reads dynamic configuration from files.
	File *FileProviderConfig `json:"file"`
	// Docker turns labelled containers of a Docker engine into routes.
	Docker *docker.Options `json:"docker"`
	// ConsulCatalog serves the healthy instances of services registered in
	// Consul, configured by their tags.
	ConsulCatalog *consul.CatalogOptions `json:"consulCatalog"`
	// Consul reads dynamic configuration from Consul KV keys under a root key.
	Consul *consul.KVOptions `json:"consul"`
	// Etcd reads dynamic configuration from etcd keys under a root key.
	Etcd *etcd.Options `json:"etcd"`
	// KubernetesIngress serves the Ingresses (networking.k8s.io/v1) of a
	// Kubernetes cluster whose class is Ferry's, with Traefik's annotations.
	KubernetesIngress *ingress.Options `json:"kubernetesIngress"`
	// KubernetesGateway serves the Gateway API objects (gateway.networking.k8s.io/v1)
	// of a Kubernetes cluster: Gateways whose GatewayClass names Ferry's
	// controller, their HTTP, gRPC, TLS, TCP and UDP routes, with status.
	KubernetesGateway *gateway.Options `json:"kubernetesGateway"`
}

// FileProviderConfig configures the file provider.
type FileProviderConfig struct {
	// Filename is one dynamic configuration file.
	Filename string `json:"filename"`
	// Directory holds .yaml, .yml and .toml dynamic configuration files.
	Directory string `json:"directory"`
	// Watch reloads files when they change (default true).
	Watch *bool `json:"watch"`
	// EmptyGrace is how long a watched file that becomes empty (no bytes,
	// or only white space and comments) keeps serving its previous routes
	// before its emptiness is applied (default 1s; 0 applies it at once).
	// Tools that truncate a file and then write it in place are never seen
	// half-way; a file that stays empty is applied after it, and logged.
	EmptyGrace *config.Duration `json:"emptyGrace"`
}

// APIConfig configures the JSON API.
type APIConfig struct {
	// Insecure serves the API, the dashboard and /ping on a plain listener
	// at Address, without authentication or TLS. Without it the API is
	// reached only through a router whose service is api@internal.
	Insecure bool `json:"insecure"`
	// Address is host:port of the insecure API listener, e.g.
	// "127.0.0.1:8081" (default ":8080", as Traefik's entry point
	// "traefik").
	Address string `json:"address"`
	// Dashboard serves the dashboard with the API (default true).
	Dashboard *bool `json:"dashboard"`
	// Debug serves Go's profiler (/debug/pprof/) and /debug/vars on the
	// insecure API listener only, never through routers (default false).
	Debug bool `json:"debug"`
}

// LogConfig configures Ferry's log.
type LogConfig struct {
	// Level is debug, info, warn or error (default info), in any case;
	// Traefik's TRACE, FATAL and PANIC read as debug, error and error.
	Level string `json:"level"`
	// Format is console or json (default console).
	Format string `json:"format"`
}

// AccessLogConfig configures the access log.
type AccessLogConfig struct {
	// FilePath is the log file; standard output when empty.
	FilePath string `json:"filePath"`
	// Format is common or json (default common).
	Format string `json:"format"`
}

// Parse decodes and checks a static configuration. Relative file
// paths are resolved against dir. Every problem is returned.
func Parse(data []byte, name, dir string) (*Static, []string) {
	node, err := decode.ParseYAML(data)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", name, err)}
	}
	return parseNode(node, name, dir)
}

// parseNode decodes and checks a static configuration tree: a file's, or
// a file's with flags and environment variables laid over it (sources.go).
func parseNode(node *decode.Node, name, dir string) (*Static, []string) {
	var s Static
	var problems []string
	for _, e := range decode.Decode(node, &s) {
		problems = append(problems, fmt.Sprintf("%s: %v", name, e))
	}
	if len(s.EntryPoints) == 0 {
		problems = append(problems, fmt.Sprintf("%s: entryPoints: at least one entry point is required", name))
	}
	for _, epName := range sortedNames(s.EntryPoints) {
		ep := s.EntryPoints[epName]
		if ep == nil || ep.Address == "" {
			problems = append(problems, fmt.Sprintf("%s: entryPoints.%s.address: missing", name, epName))
		}
		for _, p := range ep.checkNetwork("entryPoints." + epName) {
			problems = append(problems, name+": "+p)
		}
		for _, p := range ep.checkLimits("entryPoints." + epName) {
			problems = append(problems, name+": "+p)
		}
		if ep != nil && ep.ForwardedHeaders != nil {
			if _, err := parsePrefixes(ep.ForwardedHeaders.TrustedIPs, "forwardedHeaders.trustedIPs"); err != nil {
				problems = append(problems, fmt.Sprintf("%s: entryPoints.%s.%v", name, epName, err))
			}
		}
		if _, err := ep.parseTrustedIPs(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: entryPoints.%s.%v", name, epName, err))
		}
	}
	if f := s.Providers.File; f != nil {
		switch {
		case f.Filename == "" && f.Directory == "":
			problems = append(problems, fmt.Sprintf("%s: providers.file: set filename or directory", name))
		case f.Filename != "" && f.Directory != "":
			problems = append(problems, fmt.Sprintf("%s: providers.file: set filename or directory, not both", name))
		}
		if f.EmptyGrace != nil && *f.EmptyGrace < 0 {
			problems = append(problems, fmt.Sprintf("%s: providers.file.emptyGrace: negative duration %s", name, *f.EmptyGrace))
		}
		f.Filename = resolve(dir, f.Filename)
		f.Directory = resolve(dir, f.Directory)
	}
	if d := s.Providers.Docker; d != nil {
		if err := d.Check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: providers.docker: %v", name, err))
		}
		if d.TLS != nil {
			d.TLS.CA, d.TLS.Cert, d.TLS.Key = resolve(dir, d.TLS.CA), resolve(dir, d.TLS.Cert), resolve(dir, d.TLS.Key)
		}
	}
	if c := s.Providers.ConsulCatalog; c != nil {
		if err := c.Check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: providers.consulCatalog: %v", name, err))
		}
	}
	if k := s.Providers.KubernetesIngress; k != nil {
		if err := k.Check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: providers.kubernetesIngress: %v", name, err))
		}
		k.CertAuthFilePath = resolve(dir, k.CertAuthFilePath)
	}
	problems = append(problems, s.checkHTTP3(name)...)
	problems = append(problems, s.checkKubernetesGateway(name, dir)...)
	problems = append(problems, s.checkAPI(name)...)
	problems = append(problems, s.checkMetrics(name)...)
	if level, ok := logLevel(s.Log.Level); ok {
		s.Log.Level = level
	} else {
		problems = append(problems, fmt.Sprintf("%s: log.level: %q is not debug, info, warn or error", name, s.Log.Level))
	}
	switch s.Log.Format {
	case "", "console", "json":
	default:
		problems = append(problems, fmt.Sprintf("%s: log.format: %q is not console or json", name, s.Log.Format))
	}
	if a := s.AccessLog; a != nil {
		switch a.Format {
		case "", "common", "json":
		default:
			problems = append(problems, fmt.Sprintf("%s: accessLog.format: %q is not common or json", name, a.Format))
		}
		a.FilePath = resolve(dir, a.FilePath)
	}
	problems = append(problems, checkACME(&s, name, dir)...)
	problems = append(problems, s.checkTracing(name, dir)...)
	problems = append(problems, s.checkServersTransports(name, dir)...)
	problems = append(problems, s.checkCore(name)...)
	return &s, problems
}

// Load reads the static configuration file.
func Load(path string) (*Static, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{fmt.Sprintf("ferry: read static configuration: %v", err)}
	}
	return Parse(data, path, filepath.Dir(path))
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Watches reports whether the file provider watches its files.
func (f *FileProviderConfig) Watches() bool { return f.Watch == nil || *f.Watch }

// DefaultEmptyGrace is providers.file.emptyGrace when unset.
const DefaultEmptyGrace = config.Duration(time.Second)

// EmptyGraceDuration is how long an emptied file keeps its previous
// configuration: providers.file.emptyGrace, else DefaultEmptyGrace.
func (f *FileProviderConfig) EmptyGraceDuration() time.Duration {
	if f.EmptyGrace == nil {
		return time.Duration(DefaultEmptyGrace)
	}
	return time.Duration(*f.EmptyGrace)
}

// logLevel reads a log level in any case, Traefik's names included (TRACE
// is debug, FATAL and PANIC are error), as one of Ferry's.
func logLevel(v string) (string, bool) {
	switch l := strings.ToLower(strings.TrimSpace(v)); l {
	case "", "debug", "info", "warn", "error":
		return l, true
	case "trace":
		return "debug", true
	case "warning":
		return "warn", true
	case "fatal", "panic":
		return "error", true
	}
	return v, false
}
