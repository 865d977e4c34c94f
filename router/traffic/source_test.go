package traffic

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestClientIP(t *testing.T) {
	tests := []struct {
		name   string
		s      *config.IPStrategy
		xff    []string
		want   string
		wantOK bool
	}{
		{"remote addr", nil, []string{"1.1.1.1"}, "192.0.2.1", true},
		{"depth 1", &config.IPStrategy{Depth: 1}, []string{"1.1.1.1, 2.2.2.2"}, "2.2.2.2", true},
		{"depth 2 across headers", &config.IPStrategy{Depth: 2}, []string{"1.1.1.1", "2.2.2.2"}, "1.1.1.1", true},
		{"depth beyond list", &config.IPStrategy{Depth: 3}, []string{"1.1.1.1, 2.2.2.2"}, "", false},
		{"excluded skipped", &config.IPStrategy{ExcludedIPs: []string{"10.0.0.0/8"}}, []string{"1.1.1.1, 3.3.3.3,10.0.0.2 , 10.1.1.1"}, "3.3.3.3", true},
		{"all excluded", &config.IPStrategy{ExcludedIPs: []string{"10.0.0.0/8"}}, []string{"10.0.0.2"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := newIPStrategy(tt.s, "ipStrategy")
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			r.Header["X-Forwarded-For"] = tt.xff
			got, ok := st.clientIP(r)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("clientIP = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct {
		name    string
		c       *config.SourceCriterion
		byHost  bool
		want    string
		wantErr bool
	}{
		{"default ip", nil, false, "192.0.2.1", false},
		{"default host", nil, true, "example.com", false},
		{"header", &config.SourceCriterion{RequestHeaderName: "x-api-key"}, false, "k1", false},
		{"host", &config.SourceCriterion{RequestHost: true}, false, "example.com", false},
		{"depth", &config.SourceCriterion{IPStrategy: &config.IPStrategy{Depth: 1}}, true, "7.7.7.7", false},
		{"exclusive", &config.SourceCriterion{RequestHost: true, RequestHeaderName: "x"}, false, "", true},
		{"bad excluded", &config.SourceCriterion{IPStrategy: &config.IPStrategy{ExcludedIPs: []string{"10.0.0.0/33"}}}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := newSourceKey(tt.c, tt.byHost)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			r.Header.Set("X-Api-Key", "k1")
			r.Header.Set("X-Forwarded-For", "7.7.7.7")
			if got := k.key(r); got != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
}
