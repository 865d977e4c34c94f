package configs

import (
	"strings"
	"testing"
)

func TestParseStaticACME(t *testing.T) {
	const eps = "entryPoints:\n  web:\n    address: ':80'\n  websecure:\n    address: ':443'\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
	}{
		{"resolver with both challenges", eps + `certificatesResolvers:
  le:
    acme:
      email: ops@example.com
      keyType: EC384
      httpChallenge:
        entryPoint: web
      tlsChallenge: {}
      eab:
        kid: k
        hmacEncoded: aGVsbG8
`, nil},
		{"redirection to an entry point", "entryPoints:\n  web:\n    address: ':80'\n    http:\n      redirections:\n        entryPoint:\n          to: websecure\n          scheme: https\n          permanent: false\n  websecure:\n    address: ':443'\n", nil},
		{"redirection to a port", "entryPoints:\n  web:\n    address: ':80'\n    http:\n      redirections:\n        entryPoint:\n          to: ':443'\n", nil},
		{"resolver without acme", eps + "certificatesResolvers:\n  le: {}\n", []string{"certificatesResolvers.le.acme: missing"}},
		{"unknown challenge entry point", eps + "certificatesResolvers:\n  le:\n    acme:\n      httpChallenge:\n        entryPoint: nope\n",
			[]string{`certificatesResolvers.le.acme.httpChallenge.entryPoint: entry point "nope" does not exist`}},
		{"unknown acme key", eps + "certificatesResolvers:\n  le:\n    acme:\n      tlsChallenge: {}\n      storag: x\n", []string{"certificatesResolvers.le.acme.storag"}},
		{"cluster storage is not a directory", eps + "certificatesResolvers:\n  le:\n    acme:\n      tlsChallenge: {}\n      storage: redis://x\n",
			[]string{"certificatesResolvers.le.acme.storage"}},
		{"redirection to an unknown entry point", "entryPoints:\n  web:\n    address: ':80'\n    http:\n      redirections:\n        entryPoint:\n          to: websecure\n",
			[]string{`entryPoints.web.http.redirections.entryPoint: to: entry point "websecure" does not exist`}},
		{"redirection with a bad scheme", "entryPoints:\n  web:\n    address: ':80'\n    http:\n      redirections:\n        entryPoint:\n          to: ':443'\n          scheme: ftp\n",
			[]string{`entryPoints.web.http.redirections.entryPoint: scheme: "ftp" is not http or https`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Parse([]byte(tt.yaml), "ferry.yaml", "/etc/ferry")
			all := strings.Join(problems, "\n")
			if len(tt.wantErr) == 0 && len(problems) > 0 {
				t.Fatalf("unexpected problems:\n%s", all)
			}
			if len(tt.wantErr) > 0 && len(problems) == 0 {
				t.Fatalf("no problem reported, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestParseStaticACMEValues(t *testing.T) {
	s, problems := Parse([]byte(`entryPoints:
  web:
    address: ":80"
    http:
      redirections:
        entryPoint:
          to: websecure
  websecure:
    address: ":8443"
certificatesResolvers:
  le:
    acme:
      caServer: https://ca.example/dir
      tlsChallenge: {}
`), "ferry.yaml", "/etc/ferry")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	a := s.CertificatesResolvers["le"].ACME
	if a.Storage != "/etc/ferry/acme" || a.CAServer != "https://ca.example/dir" || a.TLSChallenge == nil || a.HTTPChallenge != nil {
		t.Fatalf("acme = %+v", a)
	}
	rd, ok, err := s.Redirect("web")
	if !ok || err != nil || rd.Scheme != "https" || rd.Port != "8443" || !rd.Permanent {
		t.Fatalf("redirect = %+v, %v; want https, 8443, permanent", rd, err)
	}
}
