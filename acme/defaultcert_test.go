package acme

import (
	"slices"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestDefaultGeneratedCertIsRequested: the default store's
// defaultGeneratedCert is managed like a router's names.
func TestDefaultGeneratedCertIsRequested(t *testing.T) {
	cfg := &config.Config{TLS: config.TLS{Stores: map[string]*config.TLSStore{"default@file": {
		DefaultGeneratedCert: &config.GeneratedCert{Resolver: "le", Domain: config.Domain{Main: "Default.Example.com", SANs: []string{"www.example.com"}}},
	}}}}
	reqs := Requests(cfg, func(r string) bool { return r == "le" }, func(string, bool) ([]string, error) { return nil, nil })
	if len(reqs) != 1 {
		t.Fatalf("requests %+v, want one", reqs)
	}
	r := reqs[0]
	if r.Router != "tls.stores.default@file.defaultGeneratedCert" || r.Resolver != "le" ||
		!slices.Equal(r.Domains, []string{"default.example.com", "www.example.com"}) || len(r.Errors) != 0 {
		t.Fatalf("request %+v", r)
	}
	if w := Wanted(reqs)["default.example.com"]; w == nil || w.Resolver != "le" {
		t.Fatalf("the default certificate's name is not managed: %+v", Wanted(reqs))
	}
	cfg.TLS.Stores["default@docker"] = &config.TLSStore{} // two default stores: none is used
	if reqs := Requests(cfg, func(string) bool { return true }, nil); len(reqs) != 0 {
		t.Fatalf("requests %+v with two default stores, want none", reqs)
	}
}
