package configs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStaticUDPEntryPoints(t *testing.T) {
	tests := []struct {
		name     string
		eps      string
		addrs    map[string]string
		udp      []string
		timeouts map[string]time.Duration
		wantErr  string
	}{
		{"suffixes", "  web:\n    address: ':80'\n  tcp:\n    address: ':81/tcp'\n  dns:\n    address: '127.0.0.1:5353/udp'\n  log:\n    address: ':514/UDP'\n    udp:\n      timeout: 10s\n",
			map[string]string{"web": ":80", "tcp": ":81", "dns": "127.0.0.1:5353", "log": ":514"}, []string{"dns", "log"},
			map[string]time.Duration{"dns": 3 * time.Second, "log": 10 * time.Second}, ""},
		{"unknown protocol", "  web:\n    address: ':80/sctp'\n", nil, nil, nil,
			`entryPoints.web.address: ":80/sctp": protocol "sctp" is not tcp or udp`},
		{"udp options on tcp", "  web:\n    address: ':80'\n    udp:\n      timeout: 1s\n", nil, nil, nil,
			"entryPoints.web.udp: only a UDP entry point"},
		{"http on udp", "  dns:\n    address: ':53/udp'\n    http:\n      tls: {}\n", nil, nil, nil,
			"entryPoints.dns: http and proxyProtocol do not apply to a UDP entry point"},
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
			for name, want := range tt.addrs {
				if got := s.EntryPoints[name].Address; got != want {
					t.Errorf("%s: address %q, want %q", name, got, want)
				}
			}
			if got := s.UDPEntryPointNames(); !slices.Equal(got, tt.udp) {
				t.Errorf("UDP entry points = %v, want %v", got, tt.udp)
			}
			for name, want := range tt.timeouts {
				if got := s.EntryPoints[name].UDPTimeout(); got != want {
					t.Errorf("%s: timeout %s, want %s", name, got, want)
				}
			}
		})
	}
}
