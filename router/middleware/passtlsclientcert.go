package middleware

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// Headers passTLSClientCert sets (Traefik's names).
const (
	headerClientCert     = "X-Forwarded-Tls-Client-Cert"
	headerClientCertInfo = "X-Forwarded-Tls-Client-Cert-Info"
)

// isDomainComponent reports whether oid is the DC attribute of
// distinguished names (RFC 4519).
func isDomainComponent(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25})
}

// dnPart is one attribute of a distinguished name to pass, in the order
// written: key=value for each value.
type dnPart struct {
	key    string
	values func(*pkix.Name) []string
}

// passTLSClientCert passes the certificates of a mutual TLS client to the
// servers: X-Forwarded-Tls-Client-Cert (the certificates, base64 DER
// separated by commas) and X-Forwarded-Tls-Client-Cert-Info (chosen fields,
// URL-escaped), in Traefik's formats. Whatever the client sent under those
// names is removed first, with or without a certificate.
type passTLSClientCert struct {
	pem                bool
	info               bool
	subject, issuer    []dnPart // nil: not passed
	serial, nb, na, sn bool
}

func newPassTLSClientCert(def *config.PassTLSClientCert) (Wrapper, error) {
	p := &passTLSClientCert{pem: def.PEM}
	if in := def.Info; in != nil {
		p.info, p.serial, p.nb, p.na, p.sn = true, in.SerialNumber, in.NotBefore, in.NotAfter, in.Sans
		if s := in.Subject; s != nil {
			p.subject = dnParts(s.DomainComponent, s.Country, s.Province, s.Locality, s.Organization, s.OrganizationalUnit,
				s.SerialNumber, s.CommonName)
		}
		if s := in.Issuer; s != nil {
			p.issuer = dnParts(s.DomainComponent, s.Country, s.Province, s.Locality, s.Organization, false,
				s.SerialNumber, s.CommonName)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header
			stripClientCertHeaders(h)
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				certs := r.TLS.PeerCertificates
				if p.pem {
					h[headerClientCert] = []string{pemValue(certs)}
				}
				if p.info {
					h[headerClientCertInfo] = []string{url.QueryEscape(p.infoValue(certs))}
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// dnParts lists the attributes chosen, in Traefik's order: DC, C, ST, L, O,
// OU, SN, CN.
func dnParts(dc, c, st, l, o, ou, sn, cn bool) []dnPart {
	parts := []dnPart{}
	add := func(on bool, key string, values func(*pkix.Name) []string) {
		if on {
			parts = append(parts, dnPart{key: key, values: values})
		}
	}
	add(dc, "DC", func(n *pkix.Name) []string {
		var out []string
		for _, a := range n.Names {
			if isDomainComponent(a.Type) {
				out = append(out, fmt.Sprint(a.Value))
			}
		}
		return out
	})
	add(c, "C", func(n *pkix.Name) []string { return n.Country })
	add(st, "ST", func(n *pkix.Name) []string { return n.Province })
	add(l, "L", func(n *pkix.Name) []string { return n.Locality })
	add(o, "O", func(n *pkix.Name) []string { return n.Organization })
	add(ou, "OU", func(n *pkix.Name) []string { return n.OrganizationalUnit })
	add(sn, "SN", func(n *pkix.Name) []string { return []string{n.SerialNumber} })
	add(cn, "CN", func(n *pkix.Name) []string { return []string{n.CommonName} })
	return parts
}

// pemValue is the certificates as base64 DER (PEM without armour and line
// breaks), separated by commas.
func pemValue(certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(base64.StdEncoding.EncodeToString(c.Raw))
	}
	return b.String()
}

// infoValue is the chosen fields of each certificate, as Traefik writes
// them: Subject="C=FR,CN=a";Issuer="…";SerialNumber="…";NB="…";NA="…";
// SAN="…", fields left out when empty, certificates separated by commas.
func (p *passTLSClientCert) infoValue(certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		if i > 0 {
			b.WriteByte(',')
		}
		first := true
		field := func(key, value string) {
			if value == "" {
				return
			}
			if !first {
				b.WriteByte(';')
			}
			first = false
			b.WriteString(key)
			b.WriteString(`="`)
			b.WriteString(value)
			b.WriteByte('"')
		}
		field("Subject", dnValue(p.subject, &c.Subject))
		field("Issuer", dnValue(p.issuer, &c.Issuer))
		if p.serial && c.SerialNumber != nil {
			field("SerialNumber", c.SerialNumber.String())
		}
		if p.nb {
			field("NB", strconv.FormatInt(c.NotBefore.Unix(), 10))
		}
		if p.na {
			field("NA", strconv.FormatInt(c.NotAfter.Unix(), 10))
		}
		if p.sn {
			field("SAN", strings.Join(sans(c), ","))
		}
	}
	return b.String()
}

// dnValue writes the chosen attributes of a name: K=v pairs separated by
// commas, empty values left out.
func dnValue(parts []dnPart, n *pkix.Name) string {
	var b strings.Builder
	for _, part := range parts {
		for _, v := range part.values(n) {
			if v == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(part.key)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// sans are a certificate's alternative names: DNS names, e-mail
// addresses, IP addresses, URIs.
func sans(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.EmailAddresses)+len(c.IPAddresses)+len(c.URIs))
	out = append(out, c.DNSNames...)
	out = append(out, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// stripClientCertHeaders removes the headers passTLSClientCert sets, in any
// case and with '_' for '-' too: CGI-style servers read
// X_Forwarded_Tls_Client_Cert as X-Forwarded-Tls-Client-Cert, and the
// servers behind this middleware trust those headers.
func stripClientCertHeaders(h http.Header) {
	for k := range h {
		if (len(k) == len(headerClientCert) || len(k) == len(headerClientCertInfo)) && k[0]|0x20 == 'x' &&
			(sameHeaderName(k, headerClientCert) || sameHeaderName(k, headerClientCertInfo)) {
			delete(h, k)
		}
	}
}

// sameHeaderName compares header names case-insensitively, with '_'
// standing for '-'.
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if x|0x20 != y|0x20 { // b holds letters and '-' only
			return false
		}
	}
	return true
}
