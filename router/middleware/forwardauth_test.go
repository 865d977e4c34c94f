package middleware

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// authServer lets requests with "X-Token: ok" through and remembers the
// headers of the last request it saw.
type authServer struct {
	mu   sync.Mutex
	last http.Header
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.last = r.Header.Clone()
	s.mu.Unlock()
	switch r.Header.Get("X-Token") {
	case "ok":
		w.Header().Set("X-Auth-User", "alice")
		w.Header().Set("X-Auth-Role", "admin")
		w.Header().Set("X-Other", "internal")
		w.WriteHeader(http.StatusNoContent)
	case "":
		w.Header().Set("Location", "https://login.example/?next="+r.Header.Get("X-Forwarded-Uri"))
		w.WriteHeader(http.StatusFound)
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		w.Header().Set("Set-Cookie", "tries=1")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("token rejected\n"))
	}
}

func (s *authServer) seen() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func TestForwardAuth(t *testing.T) {
	auth := &authServer{}
	srv := httptest.NewServer(auth)
	defer srv.Close()
	h := build(t, &config.Middleware{ForwardAuth: &config.ForwardAuth{
		Address:                  srv.URL + "/verify",
		AuthResponseHeaders:      []string{"x-auth-user"},
		AuthResponseHeadersRegex: "^X-Auth-R",
	}}, app)

	t.Run("allowed", func(t *testing.T) {
		req := httptest.NewRequest("POST", "http://app.test/orders?id=7", strings.NewReader("body"))
		req.Header.Set("X-Token", "ok")
		req.Header.Set("X-Auth-User", "forged")
		req.Header.Set("X-Forwarded-Host", "evil.test")
		s := decodeSeen(t, do(h, req))
		if got := s.Header.Get("X-Auth-User"); got != "alice" {
			t.Errorf("X-Auth-User %q, want alice (from the auth server, not the client)", got)
		}
		if got := s.Header.Get("X-Auth-Role"); got != "admin" {
			t.Errorf("X-Auth-Role %q, want admin (regex)", got)
		}
		if got := s.Header.Get("X-Other"); got != "" {
			t.Errorf("X-Other %q copied, want only the selected headers", got)
		}
		got := auth.seen()
		want := map[string]string{
			"X-Forwarded-Method": "POST", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "app.test",
			"X-Forwarded-Uri": "/orders?id=7", "X-Forwarded-For": "192.0.2.1", "X-Token": "ok",
		}
		for k, v := range want {
			if got.Get(k) != v {
				t.Errorf("auth server got %s=%q, want %q", k, got.Get(k), v)
			}
		}
	})
	t.Run("denied answer returned as is", func(t *testing.T) {
		req := httptest.NewRequest("GET", "http://app.test/", nil)
		req.Header.Set("X-Token", "bad")
		rec := do(h, req)
		if rec.Code != http.StatusForbidden || rec.Body.String() != "token rejected\n" {
			t.Fatalf("got %d %q, want 403 with the auth server's body", rec.Code, rec.Body.String())
		}
		if rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` || rec.Header().Get("Set-Cookie") != "tries=1" {
			t.Errorf("auth server headers not returned: %v", rec.Header())
		}
	})
	t.Run("redirect to login returned as is", func(t *testing.T) {
		rec := do(h, httptest.NewRequest("GET", "http://app.test/private", nil))
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://login.example/?next=/private" {
			t.Fatalf("got %d Location %q", rec.Code, rec.Header().Get("Location"))
		}
	})
}

func TestForwardAuthRequestHeadersAndTrust(t *testing.T) {
	auth := &authServer{}
	srv := httptest.NewServer(auth)
	defer srv.Close()
	h := build(t, &config.Middleware{ForwardAuth: &config.ForwardAuth{
		Address:            srv.URL,
		AuthRequestHeaders: []string{"X-Token"},
		TrustForwardHeader: true,
	}}, app)
	req := httptest.NewRequest("GET", "http://app.test/", nil)
	req.Header.Set("X-Token", "ok")
	req.Header.Set("Cookie", "session=1")
	req.Header.Set("X-Forwarded-Host", "front.test")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	decodeSeen(t, do(h, req))
	got := auth.seen()
	if got.Get("Cookie") != "" {
		t.Errorf("Cookie sent to the auth server despite authRequestHeaders")
	}
	if got.Get("X-Forwarded-Host") != "front.test" {
		t.Errorf("X-Forwarded-Host %q, want the trusted front.test", got.Get("X-Forwarded-Host"))
	}
	if got.Get("X-Forwarded-For") != "203.0.113.9, 192.0.2.1" {
		t.Errorf("X-Forwarded-For %q", got.Get("X-Forwarded-For"))
	}
}

func TestForwardAuthTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(&authServer{})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "http://app.test/", nil)
		r.Header.Set("X-Token", "ok")
		return r
	}
	trusted := build(t, &config.Middleware{ForwardAuth: &config.ForwardAuth{Address: srv.URL, TLS: &config.ClientTLS{CA: ca}}}, app)
	decodeSeen(t, do(trusted, req()))
	untrusted := build(t, &config.Middleware{ForwardAuth: &config.ForwardAuth{Address: srv.URL}}, app)
	if rec := do(untrusted, req()); rec.Code != http.StatusBadGateway {
		t.Fatalf("unknown CA: status %d, want 502", rec.Code)
	}
}

func TestForwardAuthErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	h := build(t, &config.Middleware{ForwardAuth: &config.ForwardAuth{Address: addr}}, app)
	if rec := do(h, httptest.NewRequest("GET", "/", nil)); rec.Code != http.StatusBadGateway {
		t.Fatalf("auth server down: status %d, want 502", rec.Code)
	}
	tests := []struct {
		name string
		c    *config.ForwardAuth
		want string
	}{
		{"no address", &config.ForwardAuth{}, "forwardAuth.address: "},
		{"bad scheme", &config.ForwardAuth{Address: "ftp://x"}, "forwardAuth.address: "},
		{"bad regex", &config.ForwardAuth{Address: "http://a", AuthResponseHeadersRegex: "("}, "forwardAuth.authResponseHeadersRegex: "},
		{"missing ca", &config.ForwardAuth{Address: "https://a", TLS: &config.ClientTLS{CA: "/nonexistent/ca.pem"}}, "forwardAuth.tls: ca: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{ForwardAuth: tt.c}, Options{Log: zap.NewNop()})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
