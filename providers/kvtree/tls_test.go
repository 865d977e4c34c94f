package kvtree

import (
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestBuildTLSOptions(t *testing.T) {
	res := Build(map[string]string{
		"traefik/tls/options/mtls/minVersion":                    "VersionTLS12",
		"traefik/tls/options/mtls/clientAuth/caFiles/0":          "/etc/ca.pem",
		"traefik/tls/options/mtls/clientAuth/clientAuthType":     "RequireAndVerifyClientCert",
		"traefik/tls/options/bad/sniStrict":                      "maybe",
		"traefik/tls/stores/default/defaultCertificate/certFile": "/c.pem",
	}, "traefik", "etcd")
	o := res.Config.TLS.Options["mtls"]
	if o == nil || o.MinVersion != "VersionTLS12" || len(o.ClientAuth.CAFiles) != 1 || o.ClientAuth.ClientAuthType != "RequireAndVerifyClientCert" {
		t.Fatalf("options mtls = %+v", o)
	}
	if s := res.Config.TLS.Stores["default"]; s == nil || s.DefaultCertificate == nil || s.DefaultCertificate.CertFile != "/c.pem" {
		t.Fatalf("store default = %+v", s)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != config.KindTLSOptions || res.Problems[0].Name != "bad" || res.Problems[0].Field != "sniStrict" {
		t.Fatalf("problems %+v: want one of the options bad, at sniStrict", res.Problems)
	}
	if got := res.Origins[config.ObjectID{Kind: config.KindTLSOptions, Name: "mtls"}]; got != "traefik/tls/options/mtls" {
		t.Errorf("origin %q", got)
	}
}
