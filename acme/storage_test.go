package acme

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStorage(t *testing.T) {
	tests := []struct {
		in      string
		want    StorageURL
		wantErr string
	}{
		{in: "/var/lib/ferry/acme", want: StorageURL{Kind: "file", Path: "/var/lib/ferry/acme"}},
		{in: "etcd://127.0.0.1:2379", want: StorageURL{Kind: "etcd", Endpoints: []string{"127.0.0.1:2379"}, Prefix: "ferry/acme"}},
		{in: "etcd://a:2379,b:2379/prod/certs/", want: StorageURL{Kind: "etcd", Endpoints: []string{"a:2379", "b:2379"}, Prefix: "prod/certs"}},
		{in: "consul://127.0.0.1:8500/ferry", want: StorageURL{Kind: "consul", Endpoints: []string{"127.0.0.1:8500"}, Prefix: "ferry"}},
		{in: "redis://x", wantErr: `scheme "redis" is not etcd or consul`},
		{in: "etcd:///prefix", wantErr: "no host:port"},
		{in: "consul://a:8500,b:8500/p", wantErr: "one agent address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStorage(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStorage(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseStorage(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestKVLayout(t *testing.T) {
	l := kvLayout{prefix: "ferry/acme"}
	if got := l.dataKey("certificates/ca-dir/a.example/a.example.crt"); got != "ferry/acme/data/certificates/ca-dir/a.example/a.example.crt" {
		t.Errorf("dataKey = %q", got)
	}
	if got := l.dataDir("certificates"); got != "ferry/acme/data/certificates/" {
		t.Errorf("dataDir = %q", got)
	}
	if got := l.dataDir(""); got != "ferry/acme/data/" {
		t.Errorf("dataDir(root) = %q", got)
	}
	if got := l.lockKey("issue_cert_a.example"); got != "ferry/acme/locks/issue_cert_a.example" {
		t.Errorf("lockKey = %q", got)
	}
	stored := []string{
		"ferry/acme/data/acme/ca/users/a@x/a.json",
		"ferry/acme/data/acme/ca/users/a@x/a.key",
		"ferry/acme/data/acme/ca/users/b@x/b.json",
	}
	tests := []struct {
		path      string
		recursive bool
		want      []string
	}{
		{"acme/ca/users", false, []string{"acme/ca/users/a@x", "acme/ca/users/b@x"}},
		{"acme/ca/users/", false, []string{"acme/ca/users/a@x", "acme/ca/users/b@x"}},
		{"acme/ca/users", true, []string{"acme/ca/users/a@x/a.json", "acme/ca/users/a@x/a.key", "acme/ca/users/b@x/b.json"}},
		{"", false, []string{"acme"}},
	}
	for _, tt := range tests {
		if got := l.listKeys(tt.path, stored, tt.recursive); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("listKeys(%q, %v) = %v, want %v", tt.path, tt.recursive, got, tt.want)
		}
	}
}

func TestEnvelope(t *testing.T) {
	mod := time.Unix(1700000000, 123)
	v, got, err := openEnvelope(envelope([]byte("pem"), mod))
	if err != nil || !bytes.Equal(v, []byte("pem")) || !got.Equal(mod) {
		t.Fatalf("round trip = %q %v %v", v, got, err)
	}
	if _, _, err := openEnvelope([]byte("short")); err == nil {
		t.Fatal("short value accepted")
	}
}
