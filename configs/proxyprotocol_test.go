package configs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestStaticProxyProtocol(t *testing.T) {
	tests := []struct {
		name    string
		ips     string
		want    []netip.Prefix
		wantErr string
	}{
		{"addresses and ranges", `["10.0.0.0/8", "127.0.0.1", "::1", "::ffff:192.0.2.0/120"]`, []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
			netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.0.2.0/24")}, ""},
		{"comma-separated", `"10.1.2.3/8, 192.0.2.1"`, []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}, ""},
		{"bad address", `["10.0.0.300"]`, nil, `entryPoints.web.proxyProtocol.trustedIPs[0]: invalid IP "10.0.0.300"`},
		{"empty list", `[]`, nil, "entryPoints.web.proxyProtocol.trustedIPs: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "entryPoints:\n  web:\n    address: ':80'\n    proxyProtocol:\n      trustedIPs: " + tt.ips + "\n"
			s, problems := Parse([]byte(yaml), "ferry.yaml", "")
			all := strings.Join(problems, "\n")
			if tt.wantErr != "" {
				if !strings.Contains(all, tt.wantErr) {
					t.Fatalf("problems %q do not mention %q", all, tt.wantErr)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatalf("problems: %s", all)
			}
			if got := s.EntryPoints["web"].TrustedIPs(); !slices.Equal(got, tt.want) {
				t.Errorf("trustedIPs = %v, want %v", got, tt.want)
			}
		})
	}
	if got := (&EntryPointConfig{Address: ":80"}).TrustedIPs(); got != nil {
		t.Errorf("no proxyProtocol section: %v, want nil", got)
	}
}
