package config

// Middleware transforms requests and responses. Exactly one type is set.
type Middleware struct {
	AddPrefix        *AddPrefix        `json:"addPrefix,omitempty"`
	StripPrefix      *StripPrefix      `json:"stripPrefix,omitempty"`
	StripPrefixRegex *StripPrefixRegex `json:"stripPrefixRegex,omitempty"`
	ReplacePath      *ReplacePath      `json:"replacePath,omitempty"`
	ReplacePathRegex *ReplacePathRegex `json:"replacePathRegex,omitempty"`
	RedirectScheme   *RedirectScheme   `json:"redirectScheme,omitempty"`
	RedirectRegex    *RedirectRegex    `json:"redirectRegex,omitempty"`
	Headers          *Headers          `json:"headers,omitempty"`
	BasicAuth        *BasicAuth        `json:"basicAuth,omitempty"`
	ForwardAuth      *ForwardAuth      `json:"forwardAuth,omitempty"`
	RateLimit        *RateLimit        `json:"rateLimit,omitempty"`
	InFlightReq      *InFlightReq      `json:"inFlightReq,omitempty"`
	IPAllowList      *IPAllowList      `json:"ipAllowList,omitempty"`
	Buffering        *Buffering        `json:"buffering,omitempty"`
	Retry            *Retry            `json:"retry,omitempty"`
	CircuitBreaker   *CircuitBreaker   `json:"circuitBreaker,omitempty"`
	Compress         *Compress         `json:"compress,omitempty"`
	Chain            *Chain            `json:"chain,omitempty"`
	Errors           *ErrorPages       `json:"errors,omitempty"`
	// PassTLSClientCert passes the client's TLS certificate to the servers in headers (passtlsclientcert.go).
	PassTLSClientCert *PassTLSClientCert `json:"passTLSClientCert,omitempty"`
	// DigestAuth requires HTTP digest authentication, RFC 7616 (middleware_digest.go).
	DigestAuth *DigestAuth `json:"digestAuth,omitempty"`
}

// AddPrefix prepends a prefix to the request path.
type AddPrefix struct {
	// Prefix is prepended to the path.
	Prefix string `json:"prefix,omitempty"`
}

// StripPrefix removes the first matching prefix from the request path.
type StripPrefix struct {
	// Prefixes are tried in order.
	Prefixes []string `json:"prefixes,omitempty"`
	// ForceSlash, as in Traefik v2: true turns the stripped path into "/" +
	// the rest without its leading slashes ("/api//x" -> "/x"); false leaves an
	// emptied path empty ("/api" -> "", so a following addPrefix adds no
	// slash). Unset: an emptied path becomes "/" and the rest is kept as is.
	ForceSlash *bool `json:"forceSlash,omitempty"`
}

// StripPrefixRegex removes the first matching regular expression prefix.
type StripPrefixRegex struct {
	// Regex lists the expressions to try.
	Regex []string `json:"regex,omitempty"`
}

// ReplacePath replaces the whole request path.
type ReplacePath struct {
	// Path is the new path.
	Path string `json:"path,omitempty"`
}

// ReplacePathRegex rewrites the path with a regular expression.
type ReplacePathRegex struct {
	// Regex matches the path.
	Regex string `json:"regex,omitempty"`
	// Replacement may use capture groups ($1).
	Replacement string `json:"replacement,omitempty"`
}

// RedirectScheme redirects the client to another scheme (and port).
type RedirectScheme struct {
	// Scheme is the target scheme, e.g. https.
	Scheme string `json:"scheme,omitempty"`
	// Port is the target port, empty for the scheme's default.
	Port string `json:"port,omitempty"`
	// Permanent answers 301/308 instead of 302/307.
	Permanent bool `json:"permanent,omitempty"`
}

// RedirectRegex redirects URLs matching a regular expression.
type RedirectRegex struct {
	// Regex matches the full request URL.
	Regex string `json:"regex,omitempty"`
	// Replacement is the target URL, may use capture groups.
	Replacement string `json:"replacement,omitempty"`
	// Permanent answers 301/308 instead of 302/307.
	Permanent bool `json:"permanent,omitempty"`
}

// Headers sets request and response headers, CORS and security headers.
type Headers struct {
	// CustomRequestHeaders are set on the request; an empty value removes the header.
	CustomRequestHeaders map[string]string `json:"customRequestHeaders,omitempty"`
	// CustomResponseHeaders are set on the response; an empty value removes the header.
	CustomResponseHeaders map[string]string `json:"customResponseHeaders,omitempty"`
	// AccessControlAllowOriginList lists the origins allowed by CORS.
	AccessControlAllowOriginList []string `json:"accessControlAllowOriginList,omitempty"`
	// AccessControlAllowOriginListRegex lists regular expressions of more
	// allowed origins, e.g. ^https://[a-z]+\.example\.com$.
	AccessControlAllowOriginListRegex []string `json:"accessControlAllowOriginListRegex,omitempty"`
	// AccessControlAllowMethods lists the methods allowed by CORS.
	AccessControlAllowMethods []string `json:"accessControlAllowMethods,omitempty"`
	// AccessControlAllowHeaders lists the request headers allowed by CORS.
	AccessControlAllowHeaders []string `json:"accessControlAllowHeaders,omitempty"`
	// AccessControlExposeHeaders lists the response headers exposed by CORS.
	AccessControlExposeHeaders []string `json:"accessControlExposeHeaders,omitempty"`
	// AccessControlAllowCredentials allows credentials in CORS requests.
	AccessControlAllowCredentials bool `json:"accessControlAllowCredentials,omitempty"`
	// AccessControlMaxAge is how long (seconds) a preflight answer may be cached.
	AccessControlMaxAge int `json:"accessControlMaxAge,omitempty"`
	// STSSeconds sets Strict-Transport-Security max-age.
	STSSeconds int `json:"stsSeconds,omitempty"`
	// STSIncludeSubdomains adds includeSubDomains to Strict-Transport-Security.
	STSIncludeSubdomains bool `json:"stsIncludeSubdomains,omitempty"`
	// STSPreload adds preload to Strict-Transport-Security.
	STSPreload bool `json:"stsPreload,omitempty"`
	// ForceSTSHeader sends Strict-Transport-Security on plain HTTP answers too
	// (by default only on TLS connections), for a TLS-terminating proxy in front.
	ForceSTSHeader bool `json:"forceSTSHeader,omitempty"`
	// FrameDeny sets X-Frame-Options: DENY.
	FrameDeny bool `json:"frameDeny,omitempty"`
	// CustomFrameOptionsValue sets X-Frame-Options to this value (e.g. SAMEORIGIN); it wins over FrameDeny.
	CustomFrameOptionsValue string `json:"customFrameOptionsValue,omitempty"`
	// ContentTypeNosniff sets X-Content-Type-Options: nosniff.
	ContentTypeNosniff bool `json:"contentTypeNosniff,omitempty"`
	// BrowserXSSFilter sets X-XSS-Protection: 1; mode=block.
	BrowserXSSFilter bool `json:"browserXssFilter,omitempty"`
	// ReferrerPolicy sets Referrer-Policy.
	ReferrerPolicy string `json:"referrerPolicy,omitempty"`
	// ContentSecurityPolicy sets Content-Security-Policy.
	ContentSecurityPolicy string `json:"contentSecurityPolicy,omitempty"`
	// PermissionsPolicy sets Permissions-Policy.
	PermissionsPolicy string `json:"permissionsPolicy,omitempty"`
	// ContentSecurityPolicyReportOnly sets Content-Security-Policy-Report-Only.
	ContentSecurityPolicyReportOnly string `json:"contentSecurityPolicyReportOnly,omitempty"`
	// CustomBrowserXSSValue sets X-XSS-Protection to this value; it wins over BrowserXSSFilter.
	CustomBrowserXSSValue string `json:"customBrowserXSSValue,omitempty"`
	// PublicKey sets Public-Key-Pins (HPKP) on TLS answers.
	PublicKey string `json:"publicKey,omitempty"`
	// AddVaryHeader is accepted for Traefik configurations: Ferry always adds
	// Vary: Origin when a CORS answer depends on the origin.
	AddVaryHeader bool `json:"addVaryHeader,omitempty"`
	// AllowedHosts lists the host names (with or without port, any case)
	// requests may carry; others are answered 400.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
	// HostsProxyHeaders are headers, tried in order, that carry the host
	// AllowedHosts and SSLRedirect look at instead of Host, e.g. X-Forwarded-Host.
	HostsProxyHeaders []string `json:"hostsProxyHeaders,omitempty"`
	// SSLProxyHeaders mark a request as HTTPS when a header has the value
	// given, e.g. {X-Forwarded-Proto: https}: for the STS and HPKP headers and SSLRedirect.
	SSLProxyHeaders map[string]string `json:"sslProxyHeaders,omitempty"`
	// IsDevelopment turns off AllowedHosts, SSLRedirect, STS and HPKP, for development.
	IsDevelopment bool `json:"isDevelopment,omitempty"`
	// SSLRedirect (deprecated in Traefik; prefer redirectScheme) redirects
	// plain HTTP requests to https (301; 307 with SSLTemporaryRedirect).
	SSLRedirect bool `json:"sslRedirect,omitempty"`
	// SSLTemporaryRedirect (deprecated) makes the SSL redirects 307 instead of 301.
	SSLTemporaryRedirect bool `json:"sslTemporaryRedirect,omitempty"`
	// SSLHost (deprecated) is the host:port SSL redirects go to (default: the request's host).
	SSLHost string `json:"sslHost,omitempty"`
	// SSLForceHost (deprecated) also redirects HTTPS requests whose host is not SSLHost.
	SSLForceHost bool `json:"sslForceHost,omitempty"`
}

// BasicAuth requires HTTP basic authentication.
type BasicAuth struct {
	// Users are htpasswd lines (user:hash).
	Users []string `json:"users,omitempty"`
	// UsersFile is an htpasswd file.
	UsersFile string `json:"usersFile,omitempty"`
	// Realm is announced in WWW-Authenticate.
	Realm string `json:"realm,omitempty"`
	// HeaderField, when set, carries the authenticated user to the server.
	HeaderField string `json:"headerField,omitempty"`
	// RemoveHeader drops the Authorization header before forwarding.
	RemoveHeader bool `json:"removeHeader,omitempty"`
}

// ForwardAuth delegates authentication to an external service.
type ForwardAuth struct {
	// Address is the authentication server's URL.
	Address string `json:"address,omitempty"`
	// TrustForwardHeader keeps the client's X-Forwarded-* headers.
	TrustForwardHeader bool `json:"trustForwardHeader,omitempty"`
	// AuthResponseHeaders are copied from the auth response to the request.
	AuthResponseHeaders []string `json:"authResponseHeaders,omitempty"`
	// AuthResponseHeadersRegex selects more headers to copy.
	AuthResponseHeadersRegex string `json:"authResponseHeadersRegex,omitempty"`
	// AuthRequestHeaders limits the request headers sent to the auth server.
	AuthRequestHeaders []string `json:"authRequestHeaders,omitempty"`
	// TLS configures the connection to the auth server.
	TLS *ClientTLS `json:"tls,omitempty"`
	// ForwardBody sends the request body to the auth server too.
	ForwardBody bool `json:"forwardBody,omitempty"`
	// MaxBodySize bounds the body ForwardBody reads (held in memory):
	// default 1 MiB, -1 no limit; a larger body is answered 413.
	MaxBodySize *int64 `json:"maxBodySize,omitempty"`
	// PreserveRequestMethod asks the auth server with the request's method instead of GET.
	PreserveRequestMethod bool `json:"preserveRequestMethod,omitempty"`
	// MaxResponseBodySize bounds the body of a denial passed to the client:
	// default 1 MiB, -1 no limit; a denial announcing a larger body is answered
	// 401 without it, and one found larger while copying is cut.
	MaxResponseBodySize *int64 `json:"maxResponseBodySize,omitempty"`
}

// ClientTLS configures an outgoing TLS connection.
type ClientTLS struct {
	// CA is a file of trusted roots.
	CA string `json:"ca,omitempty"`
	// Cert is a client certificate file.
	Cert string `json:"cert,omitempty"`
	// Key is the client certificate's key file.
	Key string `json:"key,omitempty"`
	// InsecureSkipVerify disables server certificate checks.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// RateLimit limits request rates with a token bucket.
type RateLimit struct {
	// Average is the number of requests allowed per Period (required, > 0).
	Average int `json:"average,omitempty"`
	// Period is the averaging window (default 1s).
	Period Duration `json:"period,omitempty"`
	// Burst is the bucket size: requests allowed at once (default 1).
	Burst int `json:"burst,omitempty"`
	// SourceCriterion chooses how clients are told apart (default: the connection's IP).
	SourceCriterion *SourceCriterion `json:"sourceCriterion,omitempty"`
}

// SourceCriterion tells clients apart: by IP (with a strategy), a header or
// the host. At most one of its fields is set.
type SourceCriterion struct {
	// IPStrategy picks the client IP.
	IPStrategy *IPStrategy `json:"ipStrategy,omitempty"`
	// RequestHeaderName keys clients by this header.
	RequestHeaderName string `json:"requestHeaderName,omitempty"`
	// RequestHost keys clients by the request host.
	RequestHost bool `json:"requestHost,omitempty"`
}

// IPStrategy picks the client IP from X-Forwarded-For.
type IPStrategy struct {
	// Depth, when > 0, picks the Depth-th address from the right of
	// X-Forwarded-For (1: the address the nearest proxy added); it wins over ExcludedIPs.
	Depth int `json:"depth,omitempty"`
	// ExcludedIPs (IPs, CIDRs): the client is the rightmost X-Forwarded-For
	// address outside them.
	ExcludedIPs []string `json:"excludedIPs,omitempty"`
	// IPv6Subnet, 1 to 128, turns an IPv6 client address into the first
	// address of its subnet of this size (64: the /64 a host usually owns), so
	// rate limits and allow lists treat the subnet as one client.
	IPv6Subnet int `json:"ipv6Subnet,omitempty"`
}

// InFlightReq limits concurrent requests.
type InFlightReq struct {
	// Amount is the maximum number of concurrent requests per client (required, > 0).
	Amount int `json:"amount,omitempty"`
	// SourceCriterion chooses how clients are told apart (default: the request host).
	SourceCriterion *SourceCriterion `json:"sourceCriterion,omitempty"`
}

// IPAllowList admits only clients from the given ranges.
type IPAllowList struct {
	// SourceRange lists allowed IPs and CIDRs.
	SourceRange []string `json:"sourceRange,omitempty"`
	// IPStrategy picks the client IP.
	IPStrategy *IPStrategy `json:"ipStrategy,omitempty"`
	// RejectStatusCode is the status answered to other clients (default 403).
	RejectStatusCode int `json:"rejectStatusCode,omitempty"`
}

// Buffering reads whole requests and responses before passing them on.
type Buffering struct {
	// MaxRequestBodyBytes bounds the request body: 413 beyond (0: no limit).
	MaxRequestBodyBytes int64 `json:"maxRequestBodyBytes,omitempty"`
	// MemRequestBodyBytes is kept in memory before spilling to disk (default 1 MiB).
	MemRequestBodyBytes int64 `json:"memRequestBodyBytes,omitempty"`
	// MaxResponseBodyBytes bounds the response body: 500 instead (0: no limit).
	MaxResponseBodyBytes int64 `json:"maxResponseBodyBytes,omitempty"`
	// MemResponseBodyBytes is kept in memory before spilling to disk (default 1 MiB).
	MemResponseBodyBytes int64 `json:"memResponseBodyBytes,omitempty"`
	// RetryExpression sends the request again while it holds, e.g.
	// IsNetworkError() && Attempts() < 2; also ResponseCode(). At most 10 tries.
	RetryExpression string `json:"retryExpression,omitempty"`
}

// Retry reissues failed requests.
type Retry struct {
	// Attempts is the total number of tries (required, > 0).
	Attempts int `json:"attempts,omitempty"`
	// InitialInterval is the first back-off interval; each further wait doubles it (0: retry at once).
	InitialInterval Duration `json:"initialInterval,omitempty"`
	// Status lists response codes and ranges (e.g. "503", "500-599") that are
	// retried like a network error; only for idempotent methods unless
	// RetryNonIdempotentMethod is set. Empty: only network errors are retried.
	Status []string `json:"status,omitempty"`
	// RetryNonIdempotentMethod also retries POST, PATCH and other
	// non-idempotent methods on a Status match.
	RetryNonIdempotentMethod bool `json:"retryNonIdempotentMethod,omitempty"`
	// DisableRetryOnNetworkError retries only on Status matches.
	DisableRetryOnNetworkError bool `json:"disableRetryOnNetworkError,omitempty"`
	// MaxRequestBodyBytes bounds the request body kept to replay it on a retry
	// (default 1 MiB); a request whose body read so far is larger is not retried.
	MaxRequestBodyBytes int64 `json:"maxRequestBodyBytes,omitempty"`
	// Timeout bounds the time spent retrying: no new try starts once this long
	// has passed since the first one began (0: no bound).
	Timeout Duration `json:"timeout,omitempty"`
}

// CircuitBreaker stops sending traffic to an unhealthy service.
type CircuitBreaker struct {
	// Expression trips the breaker, e.g. NetworkErrorRatio() > 0.5; it may use
	// ResponseCodeRatio(from, to, dividedByFrom, dividedByTo) and
	// LatencyAtQuantileMS(q) over the last 10 seconds, &&, || and comparisons.
	Expression string `json:"expression,omitempty"`
	// CheckPeriod is how often the expression is evaluated (default 100ms).
	CheckPeriod Duration `json:"checkPeriod,omitempty"`
	// FallbackDuration is how long the breaker stays open (default 10s).
	FallbackDuration Duration `json:"fallbackDuration,omitempty"`
	// RecoveryDuration is how long the breaker stays half-open, letting a
	// growing share of requests through (default 10s).
	RecoveryDuration Duration `json:"recoveryDuration,omitempty"`
	// ResponseCode is the status answered while the breaker is open (default 503).
	ResponseCode int `json:"responseCode,omitempty"`
}

// Compress compresses responses.
type Compress struct {
	// ExcludedContentTypes are never compressed.
	ExcludedContentTypes []string `json:"excludedContentTypes,omitempty"`
	// MinResponseBodyBytes is the smallest body compressed.
	MinResponseBodyBytes int `json:"minResponseBodyBytes,omitempty"`
	// Encodings are the codings offered (gzip, br, zstd), in order of
	// preference when the client's q-values tie; default zstd, br, gzip.
	Encodings []string `json:"encodings,omitempty"`
}

// Chain groups middlewares under one name.
type Chain struct {
	// Middlewares are applied in order.
	Middlewares []string `json:"middlewares,omitempty"`
}

// ErrorPages replaces error responses with pages from a service.
type ErrorPages struct {
	// Status lists codes and ranges, e.g. 500-599.
	Status []string `json:"status,omitempty"`
	// Service serves the error pages.
	Service string `json:"service,omitempty"`
	// Query is the path requested from Service; {status} is replaced.
	Query string `json:"query,omitempty"`
}
