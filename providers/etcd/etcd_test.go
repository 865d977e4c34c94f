package etcd

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/providers"
	"github.com/ferryproxy/ferry/providers/kvtree"
)

func TestDefaults(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		endpoints string
		root      string
	}{
		{"empty", Options{}, "127.0.0.1:2379", "ferry"},
		{"slashes trimmed", Options{RootKey: "/apps/ferry/"}, "127.0.0.1:2379", "apps/ferry"},
		{"only slashes", Options{RootKey: "//"}, "127.0.0.1:2379", "ferry"},
		{"given", Options{Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}, RootKey: "cfg"},
			"https://10.0.0.1:2379,https://10.0.0.2:2379", "cfg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(zap.NewNop(), tt.opts)
			if got := strings.Join(p.opts.Endpoints, ","); got != tt.endpoints {
				t.Errorf("endpoints %s, want %s", got, tt.endpoints)
			}
			if p.opts.RootKey != tt.root {
				t.Errorf("root key %q, want %q", p.opts.RootKey, tt.root)
			}
		})
	}
}

// TestBadTLS checks that unusable options fail Run at once, naming the file.
func TestBadTLS(t *testing.T) {
	p := New(zap.NewNop(), Options{TLS: &kvtree.TLS{CA: "/nonexistent/ca.pem"}})
	err := p.Run(context.Background(), make(chan providers.Update))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Errorf("Run: %v, want an error naming the CA file", err)
	}
}
