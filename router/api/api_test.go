package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

func TestAPIRedactsBasicAuthHashes(t *testing.T) {
	sw := router.NewSwitcher(zap.NewNop(), router.SwitcherOptions{
		EntryPoints: []router.EntryPoint{{Name: "web"}}, Transports: router.NewTransports(),
	})
	defer sw.Close()
	hash := "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
	sw.Apply(router.Input{Config: &config.Config{HTTP: config.HTTP{
		Middlewares: map[string]*config.Middleware{"auth@file": {BasicAuth: &config.BasicAuth{Users: []string{"alice:" + hash}}}},
	}}})
	for _, path := range []string{"/api/http/middlewares", "/api/http/middlewares/auth@file", "/api/rawdata"} {
		rec := httptest.NewRecorder()
		Handler(sw).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s: %d %s", path, rec.Code, body)
		}
		if strings.Contains(body, hash) || !strings.Contains(body, "alice:<redacted>") {
			t.Errorf("%s: hash not redacted:\n%s", path, body)
		}
	}
	if sw.Table().Middlewares()[0].BasicAuth.Users[0] != "alice:"+hash {
		t.Fatal("redaction modified the live configuration")
	}
}
