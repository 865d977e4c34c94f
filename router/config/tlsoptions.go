package config

import (
	"crypto/tls"
	"strings"
)

// Kinds of the TLS objects a Problem may be about.
const (
	// KindTLSOptions is a set of TLS options (tls.options.<name>).
	KindTLSOptions Kind = "tlsOptions"
	// KindTLSStore is a TLS store (tls.stores.<name>).
	KindTLSStore Kind = "tlsStore"
)

// DefaultTLSName is the name of the TLS options applied to the routers
// that name none (and to handshakes no router claims), and of the one TLS
// store Ferry uses. Unlike other names it is not qualified by a provider
// in references: tls.options: default means the default options, wherever
// they are defined.
const DefaultTLSName = "default"

// TLSOptions is a named set of TLS handshake settings. Routers choose one
// with tls.options; a handshake gets the options of the routers whose rule
// names its server name (SNI).
type TLSOptions struct {
	// MinVersion is the lowest TLS version accepted: VersionTLS10,
	// VersionTLS11, VersionTLS12 (the default) or VersionTLS13.
	MinVersion string `json:"minVersion,omitempty"`
	// MaxVersion is the highest TLS version accepted (default: the highest
	// supported, VersionTLS13).
	MaxVersion string `json:"maxVersion,omitempty"`
	// CipherSuites restricts the cipher suites of TLS 1.2 and below, by
	// their IANA names (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, …); the
	// order does not matter, Go orders them by strength. TLS 1.3 suites
	// cannot be restricted and are always on. Default: Go's secure list.
	CipherSuites []string `json:"cipherSuites,omitempty"`
	// CurvePreferences are the key exchange groups accepted: X25519MLKEM768,
	// SecP256r1MLKEM768, SecP384r1MLKEM1024, X25519, CurveP256, CurveP384,
	// CurveP521 (also written x25519, secp256r1, secp384r1, secp521r1); the
	// order does not matter. Default: Go's, post-quantum hybrids first.
	CurvePreferences []string `json:"curvePreferences,omitempty"`
	// SNIStrict refuses handshakes whose server name (SNI) is missing or
	// is not covered by any certificate, instead of serving the default
	// certificate.
	SNIStrict bool `json:"sniStrict,omitempty"`
	// ALPNProtocols are the application protocols offered, in order of
	// preference (default h2, http/1.1); a client that offers ALPN but
	// none of them is refused. On HTTP entry points acme-tls/1 is always
	// answered too (ACME TLS-ALPN-01 validations); TCP routers that
	// terminate TLS negotiate only the protocols listed here (none by
	// default).
	ALPNProtocols []string `json:"alpnProtocols,omitempty"`
	// ClientAuth asks clients for certificates and verifies them (mutual TLS).
	ClientAuth ClientAuth `json:"clientAuth,omitzero"`
	// DisableSessionTickets turns off session resumption with tickets:
	// every connection makes a full handshake.
	DisableSessionTickets bool `json:"disableSessionTickets,omitempty"`
	// PreferServerCipherSuites is accepted for compatibility with older
	// configurations and has no effect: Go chooses the order itself.
	PreferServerCipherSuites bool `json:"preferServerCipherSuites,omitempty"`
}

// ClientAuth is how client certificates are asked for and verified.
type ClientAuth struct {
	// CAFiles are the certificate authorities that client certificates
	// must chain to, each a file path or PEM text.
	CAFiles []string `json:"caFiles,omitempty"`
	// ClientAuthType is NoClientCert, RequestClientCert,
	// RequireAnyClientCert, VerifyClientCertIfGiven or
	// RequireAndVerifyClientCert (the default when caFiles are given; else
	// NoClientCert). The two that verify need caFiles.
	ClientAuthType string `json:"clientAuthType,omitempty"`
}

// TLSStore holds the certificate served when none matches the client's
// server name. Only the store named default is used.
type TLSStore struct {
	// DefaultCertificate is served to clients whose server name no
	// certificate covers, instead of Ferry's self-signed one.
	DefaultCertificate *Certificate `json:"defaultCertificate,omitempty"`
	// DefaultGeneratedCert obtains the default certificate from a
	// certificate resolver (ACME); until it is obtained, DefaultCertificate
	// (or the self-signed one) is served.
	DefaultGeneratedCert *GeneratedCert `json:"defaultGeneratedCert,omitempty"`
}

// GeneratedCert is a certificate obtained from a certificate resolver.
type GeneratedCert struct {
	// Resolver names the certificate resolver (certificatesResolvers.<name>).
	Resolver string `json:"resolver,omitempty"`
	// Domain is the certificate's main name, served as the default
	// certificate, and more names obtained with it.
	Domain Domain `json:"domain,omitzero"`
}

// QualifyTLSOptions qualifies a router's reference to TLS options like
// other references, except that default (and the empty name) stay as they
// are: they mean the default options wherever they are defined.
func QualifyTLSOptions(name, provider string) string {
	if name == DefaultTLSName {
		return name
	}
	return Qualify(name, provider)
}

// BaseName returns a qualified name without its provider: web for web@file.
func BaseName(name string) string {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[:i]
	}
	return name
}

// DefaultTLSStore returns the name and definition of the default TLS store
// (default, or default@provider once qualified). ok is false when none is
// defined or when several providers define one (see Validate).
func (t *TLS) DefaultTLSStore() (name string, store *TLSStore, ok bool) {
	for k, s := range t.Stores {
		if BaseName(k) != DefaultTLSName || s == nil {
			continue
		}
		if store != nil {
			return "", nil, false
		}
		name, store = k, s
	}
	return name, store, store != nil
}

// qualifyTLS qualifies in's TLS section into out: options and stores are
// named name@provider (default too, so that two providers defining it can
// be told apart), and the TCP routers' tls.options references are
// qualified with QualifyTLSOptions (the HTTP routers' are, by
// Router.qualified). out's TCP routers are out's own copies.
func (out *Config) qualifyTLS(in *Config, provider string) {
	out.TLS.Options = qualifyKeys(in.TLS.Options, provider)
	out.TLS.Stores = qualifyKeys(in.TLS.Stores, provider)
	for _, r := range out.TCP.Routers {
		if r.TLS != nil && r.TLS.Options != "" {
			if q := QualifyTLSOptions(r.TLS.Options, provider); q != r.TLS.Options {
				cp := *r.TLS
				cp.Options, r.TLS = q, &cp
			}
		}
	}
}

// qualifyKeys returns m with its keys qualified; nil stays nil.
func qualifyKeys[V any](m map[string]V, provider string) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[Qualify(k, provider)] = v
	}
	return out
}

// redactedStores returns stores with the inline private key of each
// default certificate replaced; stores itself when none holds one.
func redactedStores(stores map[string]*TLSStore) map[string]*TLSStore {
	changed := false
	for _, s := range stores {
		if s != nil && s.DefaultCertificate != nil {
			changed = true
		}
	}
	if !changed {
		return stores
	}
	out := make(map[string]*TLSStore, len(stores))
	for k, s := range stores {
		if s != nil && s.DefaultCertificate != nil {
			cp, c := *s, *s.DefaultCertificate
			c.CertFile, c.KeyFile = RedactText(c.CertFile), redactKey(c.KeyFile)
			cp.DefaultCertificate = &c
			s = &cp
		}
		out[k] = s
	}
	return out
}

// TLSVersion returns the version named by a minVersion or maxVersion value.
func TLSVersion(name string) (uint16, bool) {
	switch name {
	case "VersionTLS10":
		return tls.VersionTLS10, true
	case "VersionTLS11":
		return tls.VersionTLS11, true
	case "VersionTLS12":
		return tls.VersionTLS12, true
	case "VersionTLS13":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// CipherSuite returns the cipher suite of an IANA name, as crypto/tls
// names them (secure and insecure ones), and the two older names of the
// ChaCha20 suites. TLS_FALLBACK_SCSV is known but is no suite: ok with 0.
func CipherSuite(name string) (uint16, bool) {
	switch name {
	case "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":
		return tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true
	case "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305":
		return tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true
	case "TLS_FALLBACK_SCSV":
		return 0, true
	}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			if cs.Name == name {
				return cs.ID, true
			}
		}
	}
	return 0, false
}

// Curve returns the key exchange group of a curvePreferences value.
func Curve(name string) (tls.CurveID, bool) {
	switch name {
	case "CurveP256", "secp256r1", "P256", "P-256":
		return tls.CurveP256, true
	case "CurveP384", "secp384r1", "P384", "P-384":
		return tls.CurveP384, true
	case "CurveP521", "secp521r1", "P521", "P-521":
		return tls.CurveP521, true
	case "X25519", "x25519":
		return tls.X25519, true
	case "X25519MLKEM768", "x25519mlkem768":
		return tls.X25519MLKEM768, true
	case "SecP256r1MLKEM768":
		return tls.SecP256r1MLKEM768, true
	case "SecP384r1MLKEM1024":
		return tls.SecP384r1MLKEM1024, true
	}
	return 0, false
}

// ClientAuthType returns the crypto/tls value of a clientAuthType.
func ClientAuthType(name string) (tls.ClientAuthType, bool) {
	switch name {
	case "NoClientCert":
		return tls.NoClientCert, true
	case "RequestClientCert":
		return tls.RequestClientCert, true
	case "RequireAnyClientCert":
		return tls.RequireAnyClientCert, true
	case "VerifyClientCertIfGiven":
		return tls.VerifyClientCertIfGiven, true
	case "RequireAndVerifyClientCert":
		return tls.RequireAndVerifyClientCert, true
	}
	return 0, false
}

// EffectiveClientAuth returns the client authentication the options ask
// for: clientAuthType, else RequireAndVerifyClientCert when caFiles are
// given, else none. ok is false for an unknown type.
func (o *TLSOptions) EffectiveClientAuth() (tls.ClientAuthType, bool) {
	if o.ClientAuth.ClientAuthType == "" {
		if len(o.ClientAuth.CAFiles) > 0 {
			return tls.RequireAndVerifyClientCert, true
		}
		return tls.NoClientCert, true
	}
	return ClientAuthType(o.ClientAuth.ClientAuthType)
}
