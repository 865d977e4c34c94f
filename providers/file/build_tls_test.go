package file

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestLoadTLSOptions(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), `tls:
  options:
    mtls:
      minVersion: VersionTLS12
      clientAuth:
        caFiles: [/etc/ca.pem]
        clientAuthType: RequireAndVerifyClientCert
    typo:
      sniStrict: yes please
  stores:
    default:
      defaultCertificate: {certFile: /c.pem, keyFile: /k.pem}
`)
	write(t, filepath.Join(dir, "b.yaml"), "tls:\n  options:\n    mtls:\n      minVersion: VersionTLS13\n")
	res, err := Load(Options{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Config.TLS.Options["mtls"]
	if o == nil || o.MinVersion != "VersionTLS12" || o.ClientAuth.CAFiles[0] != "/etc/ca.pem" {
		t.Fatalf("options mtls = %+v (the first file's definition is kept)", o)
	}
	if s := res.Config.TLS.Stores["default"]; s == nil || s.DefaultCertificate.KeyFile != "/k.pem" {
		t.Fatalf("store default = %+v", s)
	}
	if got := res.Origins[config.ObjectID{Kind: config.KindTLSOptions, Name: "mtls"}]; got != filepath.Join(dir, "a.yaml")+":3" {
		t.Errorf("origin of mtls = %q", got)
	}
	var typo, dup bool
	for _, p := range res.Problems {
		switch {
		case p.Kind == config.KindTLSOptions && p.Name == "typo" && p.Field == "sniStrict":
			typo = true // a value that does not decode disables the options, not just the file's line
		case p.Kind == config.KindTLSOptions && p.Name == "mtls" && strings.Contains(p.Message, "defined in both"):
			dup = true
		}
	}
	if !typo || !dup {
		t.Errorf("problems %v: want one about typo's sniStrict and one about mtls defined twice", res.Problems)
	}
}
