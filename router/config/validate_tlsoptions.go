package config

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
)

// validateTLS checks tls.options and tls.stores: every value must be one
// Ferry knows, and default may be defined by one provider only. Files
// (caFiles, the default certificate) are read by the router, which reports
// what it cannot read. Problems name the key, e.g. cipherSuites[1].
func validateTLS(c *Config) []Problem {
	var ps []Problem
	add := func(k Kind, name, field, format string, args ...any) {
		ps = append(ps, Problem{Kind: k, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for name, o := range c.TLS.Options {
		if o == nil {
			continue
		}
		validateTLSOptions(o, func(field, format string, args ...any) { add(KindTLSOptions, name, field, format, args...) })
	}
	if defaults := defaultNames(c.TLS.Options); len(defaults) > 1 {
		for _, n := range defaults {
			add(KindTLSOptions, n, "", "default TLS options are defined by several providers (%s): none of them is used, "+
				"and the routers that rely on the default options are disabled", strings.Join(defaults, ", "))
		}
	}
	for name, s := range c.TLS.Stores {
		if s == nil {
			continue
		}
		if BaseName(name) != DefaultTLSName {
			add(KindTLSStore, name, "", "only the store named default is used")
			continue
		}
		if d := s.DefaultCertificate; d != nil {
			if d.CertFile == "" {
				add(KindTLSStore, name, "defaultCertificate.certFile", "missing")
			}
			if d.KeyFile == "" {
				add(KindTLSStore, name, "defaultCertificate.keyFile", "missing")
			}
		}
		if g := s.DefaultGeneratedCert; g != nil {
			if g.Resolver == "" {
				add(KindTLSStore, name, "defaultGeneratedCert.resolver", "missing")
			}
			if strings.TrimSpace(g.Domain.Main) == "" {
				add(KindTLSStore, name, "defaultGeneratedCert.domain.main", "missing")
			}
		}
	}
	if defaults := defaultNames(c.TLS.Stores); len(defaults) > 1 {
		for _, n := range defaults {
			add(KindTLSStore, n, "", "the default store is defined by several providers (%s): none of them is used", strings.Join(defaults, ", "))
		}
	}
	return ps
}

// validateTLSOptions checks one options set; bad reports a problem.
func validateTLSOptions(o *TLSOptions, bad func(field, format string, args ...any)) {
	versions := "want VersionTLS10, VersionTLS11, VersionTLS12 or VersionTLS13"
	minV, minOK := TLSVersion(o.MinVersion)
	if o.MinVersion != "" && !minOK {
		bad("minVersion", "unknown TLS version %q: %s", o.MinVersion, versions)
	}
	maxV, maxOK := TLSVersion(o.MaxVersion)
	if o.MaxVersion != "" && !maxOK {
		bad("maxVersion", "unknown TLS version %q: %s", o.MaxVersion, versions)
	}
	if minOK && maxOK && minV > maxV {
		bad("maxVersion", "%s is below minVersion %s", o.MaxVersion, o.MinVersion)
	}
	if o.CipherSuites != nil && len(o.CipherSuites) == 0 {
		bad("cipherSuites", "empty list: no TLS 1.2 connection could be made; leave it out for the defaults")
	}
	for i, cs := range o.CipherSuites {
		if _, ok := CipherSuite(cs); !ok {
			bad(fmt.Sprintf("cipherSuites[%d]", i), "unknown cipher suite %q (want an IANA name such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)", cs)
		}
	}
	for i, c := range o.CurvePreferences {
		if _, ok := Curve(c); !ok {
			bad(fmt.Sprintf("curvePreferences[%d]", i), "unknown curve %q: want X25519MLKEM768, SecP256r1MLKEM768, "+
				"SecP384r1MLKEM1024, X25519, CurveP256, CurveP384 or CurveP521", c)
		}
	}
	for i, p := range o.ALPNProtocols {
		if p == "" || len(p) > 255 {
			bad(fmt.Sprintf("alpnProtocols[%d]", i), "a protocol name has 1 to 255 bytes, got %q", p)
		}
	}
	ca := o.ClientAuth
	for i, f := range ca.CAFiles {
		if strings.TrimSpace(f) == "" {
			bad(fmt.Sprintf("clientAuth.caFiles[%d]", i), "empty")
		}
	}
	if ca.ClientAuthType != "" {
		switch t, ok := ClientAuthType(ca.ClientAuthType); {
		case !ok:
			bad("clientAuth.clientAuthType", "unknown client authentication %q: want NoClientCert, RequestClientCert, "+
				"RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert", ca.ClientAuthType)
		case len(ca.CAFiles) == 0 && (t == tls.VerifyClientCertIfGiven || t == tls.RequireAndVerifyClientCert):
			bad("clientAuth.clientAuthType", "%s verifies client certificates: it needs clientAuth.caFiles", ca.ClientAuthType)
		}
	}
}

// defaultNames returns the sorted keys of m whose base name is default.
func defaultNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		if BaseName(k) == DefaultTLSName {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
