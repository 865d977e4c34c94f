package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// selfSigned returns a certificate and its private key for name, as PEM.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// TestAPIShowsNoSecret serves a configuration holding every kind of
// secret and checks that no endpoint, and no log line about disabled
// objects, shows any of them.
func TestAPIShowsNoSecret(t *testing.T) {
	cert, key := selfSigned(t, "secret.test")
	keyBody := strings.Split(key, "\n")[1] // a line of the key's base64
	cfg := &config.Config{
		HTTP: config.HTTP{
			Routers: map[string]*config.Router{
				"web@file": {Rule: "Host(`a.test`)", Service: "app@file", Middlewares: []string{"hdr@file", "sso@file"}},
			},
			Services: map[string]*config.Service{
				"app@file": {LoadBalancer: &config.LoadBalancer{Servers: []config.Server{{URL: "http://admin:srv-pass-1@127.0.0.1:1"}}}},
				// Disabled: its URL does not parse, and the problem quotes it.
				"bad@file": {LoadBalancer: &config.LoadBalancer{Servers: []config.Server{{URL: "http://admin:srv-pass-2@127.0.0.1:80x"}}}},
			},
			Middlewares: map[string]*config.Middleware{
				"hdr@file": {Headers: &config.Headers{CustomRequestHeaders: map[string]string{
					"Authorization": "Bearer tok-3", "X-Api-Key": "key-4", "X-Env": "prod"}}},
				"sso@file": {ForwardAuth: &config.ForwardAuth{Address: "http://svc:fa-pass-5@127.0.0.1:1/verify"}},
				// Disabled: not an http(s) URL, and the problem quotes it.
				"badsso@file": {ForwardAuth: &config.ForwardAuth{Address: "ftp://svc:fa-pass-6@127.0.0.1:1/verify"}},
			},
		},
		TLS: config.TLS{Certificates: []config.Certificate{{CertFile: cert, KeyFile: key}}},
	}
	secrets := []string{keyBody, "srv-pass-1", "srv-pass-2", "tok-3", "key-4", "fa-pass-5", "fa-pass-6"}
	core, logs := observer.New(zap.InfoLevel)
	sw := router.NewSwitcher(zap.New(core), router.SwitcherOptions{
		EntryPoints: []router.EntryPoint{{Name: "web"}}, Transports: router.NewTransports(),
	})
	defer sw.Close()
	sw.Apply(router.Input{Config: cfg})
	if n := len(sw.Table().Problems()); n != 2 {
		t.Fatalf("want the 2 objects with bad URLs disabled, got %d problems: %v", n, sw.Table().Problems())
	}

	h := Handler(sw)
	for _, path := range []string{"/api/rawdata", "/api/http/routers", "/api/http/services", "/api/http/services/app@file",
		"/api/http/services/bad@file", "/api/http/middlewares", "/api/http/middlewares/hdr@file", "/api/http/middlewares/sso@file",
		"/api/tcp/routers", "/api/tcp/services", "/api/udp/routers", "/api/udp/services"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		body := rec.Body.String()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows the secret %q:\n%s", path, s, body)
			}
		}
	}
	raw := get(t, h, "/api/rawdata")
	for _, want := range []string{`"keyFile": "<redacted>"`, "http://admin:<redacted>@127.0.0.1:1", `"Authorization": "<redacted>"`,
		`"X-Env": "prod"`, "http://svc:<redacted>@127.0.0.1:1/verify", "ftp://svc:<redacted>@127.0.0.1:1/verify", "BEGIN CERTIFICATE"} {
		if !strings.Contains(raw, want) {
			t.Errorf("/api/rawdata lacks %s:\n%s", want, raw)
		}
	}
	if svc := get(t, h, "/api/http/services/app@file"); !strings.Contains(svc, `"http://admin:<redacted>@127.0.0.1:1": "UP"`) {
		t.Errorf("server status not keyed by the redacted URL:\n%s", svc)
	}

	logged := 0
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(e.Message, "disabled") {
			logged++
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line shows the secret %q: %s", s, line)
			}
		}
	}
	if logged != 2 {
		t.Errorf("want 2 log lines about disabled objects, got %d", logged)
	}
	if got := sw.Table().Config().HTTP.Services["app@file"].LoadBalancer.Servers[0].URL; !strings.Contains(got, "srv-pass-1") {
		t.Fatalf("redaction modified the live configuration: %s", got)
	}
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}
