package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// validateMoreMiddleware checks the middleware types and options that came
// with Traefik's remaining grammar: digestAuth, the headers keys of
// unrolled/secure, forwardAuth's body options, retry.timeout and
// ipStrategy.ipv6Subnet. The deprecated headers keys (sslRedirect…) are
// served, with a warning: a source problem that disables nothing.
func validateMoreMiddleware(name string, m *Middleware, add func(Kind, string, string, string, ...any)) {
	if m.typeCount() != 1 {
		return
	}
	bad := func(field, format string, args ...any) { add(KindMiddleware, name, field, format, args...) }
	if d := m.DigestAuth; d != nil {
		validateDigestAuth(d, bad)
	}
	if h := m.Headers; h != nil {
		validateMoreHeaders(name, h, bad, add)
	}
	if f := m.ForwardAuth; f != nil {
		if f.MaxBodySize != nil && *f.MaxBodySize < -1 {
			bad("forwardAuth.maxBodySize", "invalid size %d (want -1 or more)", *f.MaxBodySize)
		}
		if f.MaxResponseBodySize != nil && *f.MaxResponseBodySize < -1 {
			bad("forwardAuth.maxResponseBodySize", "invalid size %d (want -1 or more)", *f.MaxResponseBodySize)
		}
	}
	if r := m.Retry; r != nil && r.Timeout < 0 {
		bad("retry.timeout", "negative duration %s", r.Timeout)
	}
	checkSubnet := func(field string, s *IPStrategy) {
		if s != nil && (s.IPv6Subnet < 0 || s.IPv6Subnet > 128) {
			bad(field+".ipv6Subnet", "%d out of 1-128", s.IPv6Subnet)
		}
	}
	if rl := m.RateLimit; rl != nil && rl.SourceCriterion != nil {
		checkSubnet("rateLimit.sourceCriterion.ipStrategy", rl.SourceCriterion.IPStrategy)
	}
	if f := m.InFlightReq; f != nil && f.SourceCriterion != nil {
		checkSubnet("inFlightReq.sourceCriterion.ipStrategy", f.SourceCriterion.IPStrategy)
	}
	if a := m.IPAllowList; a != nil {
		checkSubnet("ipAllowList.ipStrategy", a.IPStrategy)
	}
}

func validateDigestAuth(d *DigestAuth, bad func(string, string, ...any)) {
	if len(d.Users) == 0 && d.UsersFile == "" {
		bad("digestAuth.users", "no users and no usersFile")
	}
	realm := d.Realm
	for i, line := range d.Users {
		l, err := ParseDigestLine(line)
		field := fmt.Sprintf("digestAuth.users[%d]", i)
		switch {
		case err != nil:
			bad(field, "%v", err)
		case realm == "":
			realm = l.Realm
		case l.Realm != realm && d.Realm != "":
			bad(field, "user %q is in realm %q, not the middleware's realm %q: the hash covers the realm, so this user could never log in", l.User, l.Realm, realm)
		case l.Realm != realm:
			bad(field, "user %q is in realm %q, another user in realm %q: set realm", l.User, l.Realm, realm)
		}
	}
	if strings.ContainsAny(d.Realm, "\"\\\r\n") {
		bad("digestAuth.realm", "realm %q contains a quote, a backslash or a line break", d.Realm)
	}
	if d.HeaderField != "" && !isHeaderToken(d.HeaderField) {
		bad("digestAuth.headerField", "invalid header name %q", d.HeaderField)
	}
}

func validateMoreHeaders(name string, h *Headers, bad func(string, string, ...any), add func(Kind, string, string, string, ...any)) {
	for i, host := range h.AllowedHosts {
		if strings.TrimSpace(host) == "" || strings.ContainsAny(host, " /\t") {
			bad(fmt.Sprintf("headers.allowedHosts[%d]", i), "invalid host %q", host)
		}
	}
	for i, k := range h.HostsProxyHeaders {
		if !isHeaderToken(k) {
			bad(fmt.Sprintf("headers.hostsProxyHeaders[%d]", i), "invalid header name %q", k)
		}
	}
	for _, k := range sortedHeaderNames(h.SSLProxyHeaders) {
		if !isHeaderToken(k) {
			bad("headers.sslProxyHeaders", "invalid header name %q", k)
		}
	}
	if h.SSLHost != "" {
		if u, err := url.Parse("https://" + h.SSLHost); err != nil || u.Host != h.SSLHost || u.Hostname() == "" {
			bad("headers.sslHost", "want a host or host:port, got %q", h.SSLHost)
		}
	}
	for _, v := range []struct{ field, value string }{
		{"customBrowserXSSValue", h.CustomBrowserXSSValue}, {"publicKey", h.PublicKey},
		{"contentSecurityPolicyReportOnly", h.ContentSecurityPolicyReportOnly},
	} {
		if strings.ContainsAny(v.value, "\r\n") {
			bad("headers."+v.field, "contains a line break")
		}
	}
	// Traefik v3 removed these keys; Ferry serves them, and says so.
	for _, d := range []struct {
		field string
		set   bool
	}{
		{"sslRedirect", h.SSLRedirect}, {"sslTemporaryRedirect", h.SSLTemporaryRedirect},
		{"sslHost", h.SSLHost != ""}, {"sslForceHost", h.SSLForceHost},
	} {
		if d.set {
			add(KindSource, name, "headers."+d.field, "deprecated (removed in Traefik v3): served, but prefer a redirectScheme middleware or the entry point's http.redirections")
		}
	}
}

// validCookieDomain reports whether d is a host name (an optional leading
// dot, then labels of letters, digits and dashes) or an IP address.
func validCookieDomain(d string) bool {
	d = strings.TrimPrefix(d, ".")
	if _, err := netip.ParseAddr(d); err == nil {
		return true
	}
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validateMoreService checks healthCheck.mode and sticky.cookie.domain, and
// warns (a source problem, nothing disabled) about server URLs whose path is
// not used because preservePath is off.
func validateMoreService(name string, s *Service, add func(Kind, string, string, string, ...any)) {
	checkDomain := func(field string, st *Sticky) {
		if st == nil || st.Cookie == nil || st.Cookie.Domain == "" {
			return
		}
		if !validCookieDomain(st.Cookie.Domain) {
			add(KindService, name, field+".cookie.domain", "invalid cookie domain %q", st.Cookie.Domain)
		}
	}
	if w := s.Weighted; w != nil {
		checkDomain("weighted.sticky", w.Sticky)
	}
	lb := s.LoadBalancer
	if lb == nil {
		return
	}
	checkDomain("loadBalancer.sticky", lb.Sticky)
	if hc := lb.HealthCheck; hc != nil {
		switch strings.ToLower(hc.Mode) {
		case "", "http", "grpc":
		default:
			add(KindService, name, "loadBalancer.healthCheck.mode", "unknown mode %q (want http or grpc)", hc.Mode)
		}
	}
	for i, srv := range lb.Servers {
		if srv.PreservePath {
			continue
		}
		if u, err := url.Parse(srv.URL); err == nil && u.Path != "" && u.Path != "/" {
			add(KindSource, name, fmt.Sprintf("loadBalancer.servers[%d].url", i),
				"the path %q of the server URL is not used, as in Traefik: set preservePath: true to send requests under it", u.Path)
		}
	}
}
