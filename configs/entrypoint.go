package configs

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/entrypoint"
)

// DefaultGraceTimeOut is how long in-flight requests may finish on shutdown
// by default. The other limits' defaults are the entry points' own
// (package router/entrypoint).
const DefaultGraceTimeOut = 10 * time.Second

// EntryPointHTTP holds an entry point's HTTP options.
type EntryPointHTTP struct {
	// TLS, when present, makes every router on the entry point a TLS router.
	TLS *EntryPointTLS `json:"tls"`
	// Middlewares come before the own middlewares of every HTTP router on
	// the entry point, e.g. [secure-headers@file]; a name without @ is the
	// router's provider's.
	Middlewares []string `json:"middlewares"`
	// Redirections send the entry point's plain HTTP requests elsewhere.
	Redirections *Redirections `json:"redirections"`
	// MaxHeaderBytes bounds the size of a request's headers, request line
	// included (default 32 KiB); larger ones are answered 431.
	MaxHeaderBytes int `json:"maxHeaderBytes"`
	// MaxURLLength bounds the length of a request's target (default 8 KiB);
	// longer ones are answered 414.
	MaxURLLength int `json:"maxURLLength"`
	// AllowedUpgrades are the protocols a request may switch to with an
	// Upgrade header (default [websocket]). Any other Upgrade header (h2c in
	// particular) is removed before routing, so that no upstream can turn
	// the connection into a tunnel past routing and middlewares.
	AllowedUpgrades []string `json:"allowedUpgrades"`
}

// EntryPointTLS is the default TLS section of an entry point's routers.
type EntryPointTLS struct {
	// Options names a TLS options set.
	Options string `json:"options"`
	// CertResolver obtains the certificates of the entry point's routers
	// that have no tls section of their own.
	CertResolver string `json:"certResolver"`
	// Domains are the names those routers' certificates are requested for
	// instead of the hosts of their rules.
	Domains []config.Domain `json:"domains"`
}

// EntryPointHTTP2 holds an entry point's HTTP/2 options.
type EntryPointHTTP2 struct {
	// MaxConcurrentStreams bounds the streams a client may have open on one
	// connection (default 250).
	MaxConcurrentStreams int `json:"maxConcurrentStreams"`
}

// EntryPointTransport holds an entry point's timeouts and connection limits.
type EntryPointTransport struct {
	// LifeCycle controls shutdown.
	LifeCycle *LifeCycle `json:"lifeCycle"`
	// RespondingTimeouts bound how long clients may take.
	RespondingTimeouts *RespondingTimeouts `json:"respondingTimeouts"`
	// MaxConnections bounds the connections the entry point serves at once
	// (default: no limit); further clients wait in the kernel's accept queue
	// until one ends.
	MaxConnections int `json:"maxConnections"`
}

// LifeCycle controls an entry point's shutdown.
type LifeCycle struct {
	// GraceTimeOut is how long in-flight requests may take to finish on shutdown (default 10s).
	GraceTimeOut config.Duration `json:"graceTimeOut"`
}

// RespondingTimeouts bound client behaviour on an entry point: every phase
// of a connection has a deadline.
type RespondingTimeouts struct {
	// ReadHeaderTimeout bounds the TLS handshake and the reading of a
	// request's headers (default 30s).
	ReadHeaderTimeout config.Duration `json:"readHeaderTimeout"`
	// ReadTimeout ends a request whose body makes no progress for this long
	// (default 60s; 0 disables): it is answered 408 when nothing was sent
	// yet, and its upstream connection is released. A slow upload that keeps
	// moving is never cut.
	ReadTimeout *config.Duration `json:"readTimeout"`
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its response (default 0: no limit; it would cut long
	// downloads and streams). WebSockets are not bound by it.
	WriteTimeout config.Duration `json:"writeTimeout"`
	// IdleTimeout closes keep-alive connections idle for this long, and
	// WebSockets and TCP connections on which nothing moved either way for
	// this long (default 180s).
	IdleTimeout config.Duration `json:"idleTimeout"`
}

// Limits are an entry point's timeouts and limits with defaults applied.
type Limits struct {
	GraceTimeout, ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes, MaxURLLength, MaxConcurrentStreams, MaxConnections      int
	AllowedUpgrades                                                         []string
}

// Limits returns the entry point's timeouts and limits. A ReadTimeout of
// -1 means none.
func (ep *EntryPointConfig) Limits() Limits {
	l := Limits{GraceTimeout: DefaultGraceTimeOut, ReadHeaderTimeout: entrypoint.DefaultReadHeaderTimeout,
		ReadTimeout: entrypoint.DefaultReadTimeout, IdleTimeout: entrypoint.DefaultIdleTimeout,
		MaxHeaderBytes: entrypoint.DefaultMaxHeaderBytes, MaxURLLength: entrypoint.DefaultMaxURLLength,
		MaxConcurrentStreams: entrypoint.DefaultMaxConcurrentStreams, AllowedUpgrades: entrypoint.DefaultAllowedUpgrades()}
	orDefault := func(v config.Duration, d *time.Duration) {
		if v > 0 {
			*d = time.Duration(v)
		}
	}
	if t := ep.Transport; t != nil {
		if t.LifeCycle != nil {
			orDefault(t.LifeCycle.GraceTimeOut, &l.GraceTimeout)
		}
		if rt := t.RespondingTimeouts; rt != nil {
			orDefault(rt.ReadHeaderTimeout, &l.ReadHeaderTimeout)
			orDefault(rt.IdleTimeout, &l.IdleTimeout)
			l.WriteTimeout = time.Duration(rt.WriteTimeout)
			if rt.ReadTimeout != nil {
				l.ReadTimeout = time.Duration(*rt.ReadTimeout)
				if l.ReadTimeout == 0 {
					l.ReadTimeout = -1
				}
			}
		}
		l.MaxConnections = t.MaxConnections
	}
	if h := ep.HTTP; h != nil {
		if h.MaxHeaderBytes > 0 {
			l.MaxHeaderBytes = h.MaxHeaderBytes
		}
		if h.MaxURLLength > 0 {
			l.MaxURLLength = h.MaxURLLength
		}
		if h.AllowedUpgrades != nil {
			l.AllowedUpgrades = h.AllowedUpgrades
		}
	}
	if ep.HTTP2 != nil && ep.HTTP2.MaxConcurrentStreams > 0 {
		l.MaxConcurrentStreams = ep.HTTP2.MaxConcurrentStreams
	}
	return l
}

// GraceTimeout is the entry point's drain time on shutdown.
func (ep *EntryPointConfig) GraceTimeout() time.Duration { return ep.Limits().GraceTimeout }

// checkLimits reports negative limits; name prefixes the problems.
func (ep *EntryPointConfig) checkLimits(name string) []string {
	if ep == nil {
		return nil
	}
	var problems []string
	neg := func(key string, bad bool) {
		if bad {
			problems = append(problems, fmt.Sprintf("%s.%s: must not be negative", name, key))
		}
	}
	if t := ep.Transport; t != nil {
		neg("transport.maxConnections", t.MaxConnections < 0)
		if t.LifeCycle != nil {
			neg("transport.lifeCycle.graceTimeOut", t.LifeCycle.GraceTimeOut < 0)
		}
		if rt := t.RespondingTimeouts; rt != nil {
			p := "transport.respondingTimeouts."
			neg(p+"readHeaderTimeout", rt.ReadHeaderTimeout < 0)
			neg(p+"readTimeout", rt.ReadTimeout != nil && *rt.ReadTimeout < 0)
			neg(p+"writeTimeout", rt.WriteTimeout < 0)
			neg(p+"idleTimeout", rt.IdleTimeout < 0)
		}
	}
	if h := ep.HTTP; h != nil {
		neg("http.maxHeaderBytes", h.MaxHeaderBytes < 0)
		neg("http.maxURLLength", h.MaxURLLength < 0)
		for i, u := range h.AllowedUpgrades {
			if strings.TrimSpace(u) == "" || strings.ContainsAny(u, ", ") {
				problems = append(problems, fmt.Sprintf("%s.http.allowedUpgrades[%d]: %q is not one protocol name", name, i, u))
			}
		}
	}
	if ep.HTTP2 != nil {
		neg("http2.maxConcurrentStreams", ep.HTTP2.MaxConcurrentStreams < 0)
	}
	return problems
}
