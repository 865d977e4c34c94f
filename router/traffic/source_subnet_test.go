package traffic

import (
	"net/http"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
)

func TestSubnetOf(t *testing.T) {
	tests := []struct {
		ip   string
		bits int
		want string
	}{
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::"},
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
		{"192.0.2.7", 64, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "::ffff:192.0.2.7"},
		{"not an ip", 64, "not an ip"},
	}
	for _, tt := range tests {
		if got := subnetOf(tt.ip, tt.bits); got != tt.want {
			t.Errorf("subnetOf(%q, %d) = %q, want %q", tt.ip, tt.bits, got, tt.want)
		}
	}
}

// TestIPv6Subnet: with ipv6Subnet 64 the addresses of one /64 share a rate
// limit bucket, and an allow list sees the subnet's first address.
func TestIPv6Subnet(t *testing.T) {
	limit := func(subnet int) http.Handler {
		return build(t, &config.Middleware{RateLimit: &config.RateLimit{Average: 1, Period: config.Duration(time.Hour),
			SourceCriterion: &config.SourceCriterion{IPStrategy: &config.IPStrategy{IPv6Subnet: subnet}}}}, okHandler)
	}
	tests := []struct {
		name     string
		subnet   int
		second   string
		wantCode int
	}{
		{"same /64 shares the bucket", 64, "[2001:db8::beef]:2", http.StatusTooManyRequests},
		{"another /64 has its own", 64, "[2001:db8:0:1::1]:2", http.StatusOK},
		{"without ipv6Subnet each address has its own", 0, "[2001:db8::beef]:2", http.StatusOK},
		{"IPv4 is untouched", 64, "192.0.2.9:2", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := limit(tt.subnet)
			if w := serve(h, "GET", "/", "[2001:db8::1]:1", nil, nil); w.Code != http.StatusOK {
				t.Fatalf("first request: %d", w.Code)
			}
			if w := serve(h, "GET", "/", tt.second, nil, nil); w.Code != tt.wantCode {
				t.Fatalf("second request from %s: %d, want %d", tt.second, w.Code, tt.wantCode)
			}
		})
	}
	allow := build(t, &config.Middleware{IPAllowList: &config.IPAllowList{SourceRange: []string{"2001:db8::/64"},
		IPStrategy: &config.IPStrategy{Depth: 1, IPv6Subnet: 64}}}, okHandler)
	if w := serve(allow, "GET", "/", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "2001:db8::77"}, nil); w.Code != http.StatusOK {
		t.Fatalf("allow list, client in the /64: %d", w.Code)
	}
	if w := serve(allow, "GET", "/", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "2001:db8:0:1::77"}, nil); w.Code != http.StatusForbidden {
		t.Fatalf("allow list, client outside: %d", w.Code)
	}
	if _, err := New(&config.Middleware{IPAllowList: &config.IPAllowList{SourceRange: []string{"::1"},
		IPStrategy: &config.IPStrategy{IPv6Subnet: 129}}}, Options{}); err == nil || err.Error() != "ipAllowList.ipStrategy.ipv6Subnet: 129 out of 1-128" {
		t.Fatalf("ipv6Subnet 129: err = %v", err)
	}
}

// BenchmarkRateLimitIPv6Subnet is a rate limit keyed by the client's /64:
// the cost of masking an IPv6 address, against BenchmarkRateLimit.
func BenchmarkRateLimitIPv6Subnet(b *testing.B) {
	h := build(b, &config.Middleware{RateLimit: &config.RateLimit{Average: 1e9, Burst: 1e9,
		SourceCriterion: &config.SourceCriterion{IPStrategy: &config.IPStrategy{IPv6Subnet: 64}}}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(hello) }))
	r, _ := http.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = "[2001:db8:1:2:3:4:5:6]:1234"
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
