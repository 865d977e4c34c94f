package configs

import (
	"strings"
	"testing"
)

func TestStaticHTTP3(t *testing.T) {
	type want struct {
		on   bool
		port int
	}
	tests := []struct {
		name    string
		eps     string
		want    map[string]want
		wantErr string
	}{
		{"empty section turns it on", "  websecure:\n    address: ':443'\n    http3: {}\n  web:\n    address: ':80'\n",
			map[string]want{"websecure": {true, 0}, "web": {false, 0}}, ""},
		{"advertised port", "  websecure:\n    address: ':8443'\n    http3:\n      advertisedPort: 443\n",
			map[string]want{"websecure": {true, 443}}, ""},
		{"unknown key", "  websecure:\n    address: ':443'\n    http3:\n      advertisedport2: 443\n", nil,
			"advertisedport2"},
		{"negative port", "  websecure:\n    address: ':443'\n    http3:\n      advertisedPort: -1\n", nil,
			"entryPoints.websecure.http3.advertisedPort: -1 is not a port"},
		{"port too large", "  websecure:\n    address: ':443'\n    http3:\n      advertisedPort: 70000\n", nil,
			"entryPoints.websecure.http3.advertisedPort: 70000 is not a port"},
		{"on a UDP entry point", "  dns:\n    address: ':53/udp'\n    http3: {}\n", nil,
			"entryPoints.dns.http3: HTTP/3 is served by a TCP entry point"},
		{"UDP port taken by a UDP entry point", "  websecure:\n    address: ':443'\n    http3: {}\n  quic:\n    address: '127.0.0.1:443/udp'\n", nil,
			`entryPoints.websecure.http3: its UDP port is taken by the UDP entry point "quic" (127.0.0.1:443)`},
		{"UDP entry point on another address", "  websecure:\n    address: '127.0.0.1:443'\n    http3: {}\n  quic:\n    address: '127.0.0.2:443/udp'\n",
			map[string]want{"websecure": {true, 0}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := Parse([]byte("entryPoints:\n"+tt.eps), "ferry.yaml", "")
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
			for name, w := range tt.want {
				port, on := s.EntryPoints[name].HTTP3AdvertisedPort()
				if on != w.on || port != w.port {
					t.Errorf("%s: HTTP/3 %v, advertised port %d; want %v, %d", name, on, port, w.on, w.port)
				}
			}
		})
	}
}
