package configs

import "strings"

// difference is one known difference between a Traefik static key and
// Ferry's reading of it. A rule on a key Ferry lacks (Drop, Unsupported)
// applies only while Ferry lacks it, and a rule on a key Ferry reads
// (Differs) only while Ferry reads it, so that the table stays right as
// keys are added to the schema.
type difference struct {
	// path is the key, "*" standing for one name (an entry point, a resolver).
	path string
	// verdict is what Ferry does with the key.
	verdict Verdict
	// absent makes the rule about the key's absence under a parent that is
	// present: a default that differs.
	absent bool
	// when, if set, limits the rule to values it accepts.
	when func(value string) bool
	// note says what differs and what to do.
	note string
}

// traefikDifferences are the known differences between Traefik v3's
// static configuration and Ferry's. A key of a Traefik file that Ferry
// lacks and that no rule names is reported as unsupported.
func traefikDifferences() []difference {
	return []difference{
		// Keys Ferry reads, with another meaning or default.
		{path: "api.insecure", verdict: Differs, when: isTrue,
			note: "Ferry serves the insecure API, dashboard and /ping on a listener of their own, api.address (default :8080, as Traefik's entry point \"traefik\"), not on an entry point"},
		{path: "providers.docker.exposedByDefault", verdict: Differs, absent: true,
			note: "Traefik serves every container by default, Ferry only containers labelled enable=true; set providers.docker.exposedByDefault: true to keep Traefik's behaviour"},
		{path: "providers.docker.labelPrefix", verdict: Differs, absent: true,
			note: "Ferry reads ferry.* labels unless told otherwise; add providers.docker.labelPrefix: traefik to read the traefik.* labels unchanged"},
		{path: "providers.consulCatalog.exposedByDefault", verdict: Differs, absent: true,
			note: "Traefik serves every Consul service by default, Ferry only services tagged enable=true; set exposedByDefault: true to keep Traefik's behaviour"},
		{path: "providers.consulCatalog.prefix", verdict: Differs, absent: true,
			note: "Ferry reads ferry.* tags unless told otherwise; add providers.consulCatalog.prefix: traefik"},
		{path: "providers.file.filename", verdict: Differs, when: isRelativePath,
			note: "a relative path is read from the static file's directory by Ferry, from the working directory by Traefik"},
		{path: "providers.file.directory", verdict: Differs, when: isRelativePath,
			note: "a relative path is read from the static file's directory by Ferry, from the working directory by Traefik"},
		{path: "certificatesResolvers.*.acme.storage", verdict: Differs,
			note: "Ferry keeps certificates in a directory (or etcd://, consul:// shared by replicas), not in Traefik's acme.json: the certificates are obtained again on the first start (mind the CA's rate limits); point storage at a new directory"},
		{path: "certificatesResolvers.*.acme.keyType", verdict: Differs, absent: true,
			note: "Traefik's default key type is RSA4096, Ferry's EC256 (ECDSA P-256); set keyType: RSA4096 for clients that need RSA"},
		{path: "log.level", verdict: Differs, when: func(v string) bool { return isOneOf(strings.ToLower(v), "trace", "fatal", "panic") },
			note: "Ferry has no trace, fatal or panic level: trace reads as debug, fatal and panic as error"},
		{path: "log.format", verdict: Differs, when: func(v string) bool { return v == "common" },
			note: "Ferry's log formats are console and json: write console"},
		{path: "accessLog.format", verdict: Differs, when: func(v string) bool { return v == "genericCLF" },
			note: "Ferry's access log formats are common and json"},

		// Keys Ferry lacks, whose removal loses nothing that is served.
		{path: "global", verdict: Drop, note: "Ferry never checks for new versions nor sends usage data"},
		{path: "providers.providersThrottleDuration", verdict: Drop,
			note: "Ferry applies a change after a quiet window (providers.debounce, default 100ms) bounded by providers.maxWait (1s), instead of at most one change per throttle duration"},
		{path: "providers.docker.httpClientTimeout", verdict: Drop, note: "Ferry's calls to the engine have their own timeout"},
		{path: "providers.file.debugLogGeneratedTemplate", verdict: Drop, note: "Ferry does not run dynamic files as templates"},
		{path: "providers.kubernetesIngress.throttleDuration", verdict: Drop, note: "changes are debounced by providers.debounce"},
		{path: "hostResolver", verdict: Drop, note: "Ferry resolves names with the system's resolver"},
		{path: "ping", verdict: Drop,
			note: "Ferry answers GET /ping on api.address and through routers to api@internal; point health checks there (there is no `ferry healthcheck`)"},
		{path: "log.filePath", verdict: Drop, note: "Ferry logs to standard error: redirect it, or use the container's log driver"},
		{path: "log.noColor", verdict: Drop, note: "log.format: json has no colours"},
		{path: "log.maxSize", verdict: Drop, note: "Ferry does not rotate its log"},
		{path: "log.maxAge", verdict: Drop, note: "Ferry does not rotate its log"},
		{path: "log.maxBackups", verdict: Drop, note: "Ferry does not rotate its log"},
		{path: "log.compress", verdict: Drop, note: "Ferry does not rotate its log"},
		{path: "accessLog.bufferingSize", verdict: Drop, note: "Ferry has no such option"},
		{path: "accessLog.filters", verdict: Drop, note: "Ferry logs every request"},
		{path: "accessLog.fields", verdict: Drop, note: "Ferry's access log has fixed fields"},
		{path: "accessLog.addInternals", verdict: Drop, note: "Ferry has no such option"},
		{path: "tracing.addInternals", verdict: Drop, note: "Ferry has no such option"},
		{path: "tracing.safeQueryParams", verdict: Drop, note: "Ferry has no such option"},
		{path: "metrics.addInternals", verdict: Drop, note: "Ferry has no such option"},
		{path: "experimental.http3", verdict: Drop, note: "HTTP/3 needs no experimental switch: entryPoints.<name>.http3"},
		{path: "experimental.kubernetesGateway", verdict: Drop, note: "the Gateway API provider needs no experimental switch"},
		{path: "experimental.fastProxy", verdict: Drop, note: "Ferry has one proxy"},
		{path: "entryPoints.*.allowACMEByPass", verdict: Drop, note: "Ferry has no such option"},
		{path: "entryPoints.*.reusePort", verdict: Drop, note: "Ferry has no such option"},
		{path: "entryPoints.*.transport.keepAliveMaxRequests", verdict: Drop, note: "Ferry has no such limit; idle connections end after respondingTimeouts.idleTimeout"},
		{path: "entryPoints.*.transport.keepAliveMaxTime", verdict: Drop, note: "Ferry has no such limit; idle connections end after respondingTimeouts.idleTimeout"},
		{path: "entryPoints.*.transport.lifeCycle.requestAcceptGraceTimeout", verdict: Drop, note: "Ferry has no such delay; in-flight requests still drain for lifeCycle.graceTimeOut"},
		{path: "entryPoints.*.forwardedHeaders.connection", verdict: Drop, note: "Ferry has no such option"},
		{path: "entryPoints.*.http.encodeQuerySemicolons", verdict: Drop, note: "Ferry has no such option"},
		{path: "entryPoints.*.http.sanitizePath", verdict: Drop, note: "Ferry has no such option; see the README on how paths are matched"},
		{path: "entryPoints.*.observability", verdict: Drop, note: "Ferry has no per-entry-point switches: it logs, counts and traces every entry point alike"},
		{path: "certificatesResolvers.*.acme.certificatesDuration", verdict: Drop, note: "Ferry renews from each certificate's own lifetime"},
		{path: "certificatesResolvers.*.acme.preferredChain", verdict: Drop, note: "Ferry has no such option; the CA's default chain is served"},

		// Keys Ferry lacks, whose removal changes what is served or exported.
		{path: "providers.swarm", verdict: Unsupported, note: "Ferry has no Swarm provider: services of a swarm are not served"},
		{path: "providers.kubernetesCRD", verdict: Unsupported, note: "IngressRoute and the other traefik.io resources are not read: use Ingress (providers.kubernetesIngress) or the Gateway API"},
		{path: "providers.nomad", verdict: Unsupported, note: "Ferry has no Nomad provider"},
		{path: "providers.ecs", verdict: Unsupported, note: "Ferry has no ECS provider"},
		{path: "providers.redis", verdict: Unsupported, note: "Ferry has no Redis provider: use etcd or Consul KV"},
		{path: "providers.zooKeeper", verdict: Unsupported, note: "Ferry has no ZooKeeper provider: use etcd or Consul KV"},
		{path: "providers.http", verdict: Unsupported, note: "Ferry has no HTTP provider"},
		{path: "providers.rest", verdict: Unsupported, note: "Ferry has no REST provider"},
		{path: "providers.plugin", verdict: Unsupported, note: "Traefik plugins do not run in Ferry"},
		{path: "experimental.plugins", verdict: Unsupported, note: "Traefik plugins (Yaegi, WASM) do not run in Ferry: middlewares of their types are not served"},
		{path: "experimental.localPlugins", verdict: Unsupported, note: "Traefik plugins (Yaegi, WASM) do not run in Ferry: middlewares of their types are not served"},
		{path: "entryPoints.*.http.middlewares", verdict: Unsupported,
			note: "Ferry applies no middleware to every router of an entry point: add them to each router, or these routers serve without them"},
		{path: "entryPoints.*.http.tls.certResolver", verdict: Unsupported,
			note: "routers of the entry point get no certificate from the resolver unless they name it: set tls.certResolver on each router"},
		{path: "entryPoints.*.http.tls.domains", verdict: Unsupported, note: "set tls.domains on the routers instead"},
		{path: "entryPoints.*.asDefault", verdict: Unsupported,
			note: "Ferry puts a router that names no entry point on every entry point, not only the asDefault ones: name the entry points on each router"},
		{path: "certificatesResolvers.*.tailscale", verdict: Unsupported, note: "Ferry has no Tailscale resolver"},
		{path: "metrics.datadog", verdict: Unsupported, note: "Ferry exports Prometheus metrics only"},
		{path: "metrics.statsD", verdict: Unsupported, note: "Ferry exports Prometheus metrics only"},
		{path: "metrics.influxDB2", verdict: Unsupported, note: "Ferry exports Prometheus metrics only"},
		{path: "metrics.otlp", verdict: Unsupported, note: "Ferry exports Prometheus metrics only"},
		{path: "spiffe", verdict: Unsupported, note: "Ferry has no SPIFFE support: servers transports cannot use SPIFFE identities"},
		{path: "ocsp", verdict: Unsupported, note: "Ferry does not staple OCSP responses"},
		{path: "core.defaultRuleSyntax", verdict: Unsupported, note: "v2-syntax rules are not read: rewrite them in the v3 syntax"},
	}
}

// lookupDifference returns the rule for the key at path, if any: a rule for
// a present key (absent false) or for a missing one (absent true).
func lookupDifference(path []string, absent bool) *difference {
	for _, d := range traefikDifferences() {
		if d.absent == absent && pathMatches(d.path, path) {
			return &d
		}
	}
	return nil
}

// pathMatches reports whether path matches pattern, segment by segment,
// case-insensitively; "*" matches any one segment.
func pathMatches(pattern string, path []string) bool {
	segs := strings.Split(pattern, ".")
	if len(segs) != len(path) {
		return false
	}
	for i, s := range segs {
		if s != "*" && !strings.EqualFold(s, path[i]) {
			return false
		}
	}
	return true
}

func isTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

func isRelativePath(v string) bool { return v != "" && !strings.HasPrefix(v, "/") }

func isOneOf(v string, set ...string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
