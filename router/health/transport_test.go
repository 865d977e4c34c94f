package health

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// TestCheckTransport: a check with a Transport probes through it (here, one
// that trusts the test server's certificate, which the registry's own
// transport does not), and the transport is part of the checker's key.
func TestCheckTransport(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	reg := NewRegistry(zap.NewNop(), Options{Transport: &http.Transport{}})
	defer reg.Close()

	own := &Transport{HTTP: srv.Client().Transport}
	plain := fastCheck(config.HealthCheck{})
	through := plain
	through.Transport = own
	other := plain
	other.Transport = &Transport{HTTP: &http.Transport{TLSClientConfig: &tls.Config{}}}

	k1, k2, k3 := KeyOf("s", plain, srv.URL), KeyOf("s", through, srv.URL), KeyOf("s", other, srv.URL)
	if k1 == k2 || k2 == k3 || k1 == k3 {
		t.Fatalf("keys do not tell transports apart:\n%v\n%v\n%v", k1, k2, k3)
	}
	if again := KeyOf("s", through, srv.URL); again != k2 {
		t.Fatal("the same transport gives another key")
	}

	byRegistry, err := reg.Checker(k1, plain, Pending)
	if err != nil {
		t.Fatal(err)
	}
	byTransport, err := reg.Checker(k2, through, Pending)
	if err != nil {
		t.Fatal(err)
	}
	reg.Sync([]*Checker{byRegistry, byTransport})
	waitState(t, byTransport, Up)
	waitState(t, byRegistry, Down)
}
