package traffic

import (
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestIPAllowList(t *testing.T) {
	tests := []struct {
		name   string
		c      config.IPAllowList
		remote string
		xff    string
		want   int
	}{
		{"in CIDR", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}}, "10.1.2.3:5", "", 200},
		{"single IP", config.IPAllowList{SourceRange: []string{"192.0.2.7"}}, "192.0.2.7:5", "", 200},
		{"outside", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}}, "192.0.2.7:5", "", 403},
		{"IPv6", config.IPAllowList{SourceRange: []string{"2001:db8::/32"}}, "[2001:db8::1]:5", "", 200},
		{"spoofed XFF ignored", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}}, "192.0.2.7:5", "10.0.0.1", 403},
		{"depth", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}, IPStrategy: &config.IPStrategy{Depth: 1}}, "192.0.2.7:5", "1.1.1.1, 10.0.0.1", 200},
		{"depth too deep", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}, IPStrategy: &config.IPStrategy{Depth: 3}}, "10.0.0.7:5", "10.0.0.1", 403},
		{"reject status", config.IPAllowList{SourceRange: []string{"10.0.0.0/8"}, RejectStatusCode: 404}, "192.0.2.7:5", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := build(t, &config.Middleware{IPAllowList: &tt.c}, okHandler)
			hdr := map[string]string{}
			if tt.xff != "" {
				hdr["X-Forwarded-For"] = tt.xff
			}
			if w := serve(h, "GET", "/", tt.remote, hdr, nil); w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
		})
	}
}

func TestIPAllowListErrors(t *testing.T) {
	tests := []struct {
		c    config.IPAllowList
		want string
	}{
		{config.IPAllowList{}, "ipAllowList.sourceRange: empty"},
		{config.IPAllowList{SourceRange: []string{"10.0.0.0/8", "10.0.0.0/99"}}, `ipAllowList.sourceRange[1]: invalid CIDR "10.0.0.0/99"`},
		{config.IPAllowList{SourceRange: []string{"localhost"}}, `ipAllowList.sourceRange[0]: invalid IP "localhost"`},
		{config.IPAllowList{SourceRange: []string{"::1"}, IPStrategy: &config.IPStrategy{Depth: -1}}, "ipAllowList.ipStrategy.depth"},
	}
	for _, tt := range tests {
		_, err := New(&config.Middleware{IPAllowList: &tt.c}, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("err = %v, want prefix %q", err, tt.want)
		}
	}
}
