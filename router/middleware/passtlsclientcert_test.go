package middleware

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

// clientChain makes a CA and a client certificate signed by it.
func clientChain(t *testing.T) (leaf, ca *x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(7), IsCA: true, BasicConstraintsValid: true,
		Subject: pkix.Name{CommonName: "Test CA", Organization: []string{"Ferry"}, Country: []string{"FR"},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "test"}}},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1900000000, 0), KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("spiffe://test/alice")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242),
		Subject: pkix.Name{CommonName: "alice", Organization: []string{"Ferry"}, OrganizationalUnit: []string{"QA"},
			Country: []string{"FR"}, Province: []string{"Occitanie"}, Locality: []string{"Toulouse"}, SerialNumber: "A-1"},
		DNSNames: []string{"alice.test"}, EmailAddresses: []string{"alice@test"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.7")},
		URIs: []*url.URL{u}, NotBefore: time.Unix(1700000100, 0), NotAfter: time.Unix(1800000000, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(der)
	return leaf, ca
}

func TestPassTLSClientCert(t *testing.T) {
	leaf, ca := clientChain(t)
	all := &config.TLSClientCertificateInfo{NotAfter: true, NotBefore: true, Sans: true, SerialNumber: true,
		Subject: &config.TLSClientCertificateSubjectDNInfo{Country: true, Province: true, Locality: true, Organization: true,
			OrganizationalUnit: true, CommonName: true, SerialNumber: true, DomainComponent: true},
		Issuer: &config.TLSClientCertificateIssuerDNInfo{Country: true, Province: true, Locality: true, Organization: true,
			CommonName: true, SerialNumber: true, DomainComponent: true}}
	leafInfo := `Subject="C=FR,ST=Occitanie,L=Toulouse,O=Ferry,OU=QA,SN=A-1,CN=alice";` +
		`Issuer="DC=test,C=FR,O=Ferry,CN=Test CA";SerialNumber="4242";NB="1700000100";NA="1800000000";` +
		`SAN="alice.test,alice@test,192.0.2.7,spiffe://test/alice"`
	tests := []struct {
		name             string
		def              config.PassTLSClientCert
		certs            []*x509.Certificate
		wantPEM, wantInf string
	}{
		{"pem", config.PassTLSClientCert{PEM: true}, []*x509.Certificate{leaf},
			base64.StdEncoding.EncodeToString(leaf.Raw), ""},
		{"pem of a chain", config.PassTLSClientCert{PEM: true}, []*x509.Certificate{leaf, ca},
			base64.StdEncoding.EncodeToString(leaf.Raw) + "," + base64.StdEncoding.EncodeToString(ca.Raw), ""},
		{"all info", config.PassTLSClientCert{Info: all}, []*x509.Certificate{leaf}, "", leafInfo},
		{"some info", config.PassTLSClientCert{Info: &config.TLSClientCertificateInfo{NotAfter: true,
			Subject: &config.TLSClientCertificateSubjectDNInfo{CommonName: true}}}, []*x509.Certificate{leaf, ca},
			"", `Subject="CN=alice";NA="1800000000",Subject="CN=Test CA";NA="1900000000"`},
		{"empty info", config.PassTLSClientCert{Info: &config.TLSClientCertificateInfo{}}, []*x509.Certificate{leaf}, "", ""},
		{"no client certificate", config.PassTLSClientCert{PEM: true, Info: all}, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := build(t, &config.Middleware{PassTLSClientCert: &tt.def}, app)
			req := httptest.NewRequest(http.MethodGet, "https://a.test/", nil)
			req.TLS = &tls.ConnectionState{PeerCertificates: tt.certs}
			req.Header.Set("X-Forwarded-Tls-Client-Cert", "forged")
			req.Header.Set("X-Forwarded-Tls-Client-Cert-Info", "forged")
			s := decodeSeen(t, do(h, req))
			if got := s.Header.Get("X-Forwarded-Tls-Client-Cert"); got != tt.wantPEM {
				t.Errorf("X-Forwarded-Tls-Client-Cert = %q, want %q", got, tt.wantPEM)
			}
			gotInfo := s.Header.Get("X-Forwarded-Tls-Client-Cert-Info")
			if tt.wantInf == "" && gotInfo != "" && tt.def.Info == nil {
				t.Errorf("X-Forwarded-Tls-Client-Cert-Info = %q, want none", gotInfo)
			}
			if plain, err := url.QueryUnescape(gotInfo); err != nil || plain != tt.wantInf {
				t.Errorf("X-Forwarded-Tls-Client-Cert-Info = %q (%q), want %q escaped", gotInfo, plain, tt.wantInf)
			}
			if got := s.Header.Values("X-Forwarded-Tls-Client-Cert"); len(got) > 1 {
				t.Errorf("several values: %q", got)
			}
		})
	}
}

// TestPassTLSClientCertPlainConnection: on a connection without TLS the
// forged headers are removed and nothing is set.
func TestPassTLSClientCertPlainConnection(t *testing.T) {
	h := build(t, &config.Middleware{PassTLSClientCert: &config.PassTLSClientCert{PEM: true,
		Info: &config.TLSClientCertificateInfo{NotAfter: true}}}, app)
	req := httptest.NewRequest(http.MethodGet, "http://a.test/", nil)
	req.Header.Set("X-Forwarded-Tls-Client-Cert", "forged")
	req.Header.Set("X-Forwarded-Tls-Client-Cert-Info", "forged")
	req.Header["X_forwarded_tls_client_cert"] = []string{"forged"} // as HTTP/1.1 leaves it
	req.Header["X-FORWARDED_TLS-CLIENT-CERT-INFO"] = []string{"forged"}
	req.Header["X-Forwarded-Tls-Client-Certs"] = []string{"kept"}
	s := decodeSeen(t, do(h, req))
	for k, v := range s.Header {
		if v[0] == "forged" {
			t.Errorf("%s passed", k)
		}
	}
	if s.Header.Get("X-Forwarded-Tls-Client-Certs") != "kept" {
		t.Errorf("another header was removed: %v", s.Header)
	}
	if v := s.Header.Values("X-Forwarded-Tls-Client-Cert"); len(v) != 0 {
		t.Errorf("cert header passed: %q", v)
	}
	if v := s.Header.Values("X-Forwarded-Tls-Client-Cert-Info"); len(v) != 0 {
		t.Errorf("info header passed: %q", v)
	}
}
