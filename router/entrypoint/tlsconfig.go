package entrypoint

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// This file is the one place where server-side TLS configurations are
// made: the entry point's own (ServerTLSConfig, for TLS over TCP and for
// HTTP/3) and those of TLS options (OptionsTLSConfigs), which the entry
// point's GetConfigForClient hands out per server name.

// CertificateFunc picks the certificate of a handshake.
type CertificateFunc = func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// ConfigFunc picks the configuration of a handshake from its ClientHello;
// nil means the entry point's own.
type ConfigFunc = func(*tls.ClientHelloInfo) (*tls.Config, error)

// DefaultALPNProtocols are the application protocols HTTP entry points
// offer when TLS options name none, in order of preference.
func DefaultALPNProtocols() []string { return []string{"h2", "http/1.1"} }

// ServerTLSConfig returns an entry point's TLS configuration. getCert
// picks certificates; forClient, when not nil, returns for each ClientHello
// the configuration of the TLS options that apply to its server name (see
// router.Switcher.TLSConfigForClient), or nil for this one. Listen uses it
// for TLS over TCP; HTTP/3 uses the same value wrapped by
// http3.ConfigureTLSConfig, which keeps GetConfigForClient and offers h3
// only.
func ServerTLSConfig(getCert CertificateFunc, forClient ConfigFunc) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetCertificate:     getCert,
		GetConfigForClient: forClient,
		// acme-tls/1 is offered only by ACME CAs validating TLS-ALPN-01.
		NextProtos: append(DefaultALPNProtocols(), acmeALPN),
	}
}

// OptionsTLSConfigs turns a set of TLS options into the configurations of
// the handshakes it governs: forHTTP on HTTP entry points (ALPN from
// alpnProtocols, default h2 and http/1.1, plus acme-tls/1) and forTCP for
// TCP routers that terminate TLS (ALPN only as alpnProtocols lists, none by
// default: the server behind may speak anything). getCert picks the
// certificates (a strict picker for sniStrict options is the caller's
// choice). The client CAs are read here, each a file path or PEM text.
// Errors name the option at fault, e.g. clientAuth.caFiles[0]: ….
// o must have passed config.Validate.
func OptionsTLSConfigs(o *config.TLSOptions, getCert CertificateFunc) (forHTTP, forTCP *tls.Config, err error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert, SessionTicketsDisabled: o.DisableSessionTickets}
	if v, ok := config.TLSVersion(o.MinVersion); ok {
		c.MinVersion = v
	}
	if v, ok := config.TLSVersion(o.MaxVersion); ok {
		c.MaxVersion = v
	}
	for _, name := range o.CipherSuites {
		if id, ok := config.CipherSuite(name); ok && id != 0 {
			c.CipherSuites = append(c.CipherSuites, id)
		}
	}
	for _, name := range o.CurvePreferences {
		if id, ok := config.Curve(name); ok {
			c.CurvePreferences = append(c.CurvePreferences, id)
		}
	}
	auth, ok := o.EffectiveClientAuth()
	if !ok {
		return nil, nil, fmt.Errorf("clientAuth.clientAuthType: unknown client authentication %q", o.ClientAuth.ClientAuthType)
	}
	c.ClientAuth = auth
	if len(o.ClientAuth.CAFiles) > 0 {
		if c.ClientCAs, err = clientCAs(o.ClientAuth.CAFiles); err != nil {
			return nil, nil, err
		}
	}
	forTCP = c.Clone()
	forTCP.NextProtos = slices.Clone(o.ALPNProtocols)
	forHTTP = c
	forHTTP.NextProtos = o.ALPNProtocols
	if len(forHTTP.NextProtos) == 0 {
		forHTTP.NextProtos = DefaultALPNProtocols()
	}
	forHTTP.NextProtos = append(append([]string(nil), forHTTP.NextProtos...), acmeALPN)
	return forHTTP, forTCP, nil
}

// clientCAs reads the certificate authorities of client certificates,
// each a file path or PEM text.
func clientCAs(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for i, f := range files {
		data := []byte(f)
		what := "PEM text"
		if !strings.Contains(f, "-----BEGIN") {
			var err error
			if data, err = os.ReadFile(f); err != nil {
				return nil, fmt.Errorf("clientAuth.caFiles[%d]: %w", i, err)
			}
			what = f
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("clientAuth.caFiles[%d]: no PEM certificate in %s", i, what)
		}
	}
	return pool, nil
}

// IsACMEChallenge reports whether a ClientHello is an ACME TLS-ALPN-01
// validation (acme-tls/1 as its only protocol): such handshakes always get
// the entry point's own configuration, whatever the options of the name.
func IsACMEChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeALPN
}
