package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/ferryproxy/ferry/router/config"
)

// seen is what the application behind a middleware received.
type seen struct {
	Path    string      `json:"path"`
	RawPath string      `json:"rawPath"`
	Header  http.Header `json:"header"`
}

// app answers 200 with the request it received as JSON.
var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(seen{Path: r.URL.Path, RawPath: r.URL.RawPath, Header: r.Header})
})

// build builds def in front of next, failing the test on error.
func build(t testing.TB, def *config.Middleware, next http.Handler) http.Handler {
	t.Helper()
	wrap, err := New(def, Options{Name: "test@file", Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return wrap(next)
}

// do serves req through h and returns the recorded answer.
func do(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decodeSeen decodes what app received; fails when app was not reached.
func decodeSeen(t *testing.T, rec *httptest.ResponseRecorder) seen {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200 from the app; body %q", rec.Code, rec.Body.String())
	}
	var s seen
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("decode app answer: %v (%q)", err, rec.Body.String())
	}
	return s
}
