package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// pages is an error page service: it answers 200 with the path it was asked for.
var pages = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("X-Page-Method", r.Method)
	fmt.Fprintf(w, "<h1>page %s</h1>", r.URL.RequestURI())
})

// statusApp answers the status named by its path, /503, with a body of its own.
var statusApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
	w.Header().Set("Content-Length", "9")
	w.Header().Set("X-App", "1")
	w.WriteHeader(code)
	_, _ = w.Write([]byte("app body\n"))
})

func services(name string) (http.Handler, bool) {
	if name == "pages@file" {
		return pages, true
	}
	return nil, false
}

func TestErrorPages(t *testing.T) {
	wrap, err := New(&config.Middleware{Errors: &config.ErrorPages{
		Status: []string{"500-599", "404"}, Service: "pages@file", Query: "/errors/{status}.html",
	}}, Options{Log: zap.NewNop(), Service: services})
	if err != nil {
		t.Fatal(err)
	}
	h := wrap(statusApp)
	tests := []struct {
		method, path string
		wantBody     string
	}{
		{"GET", "/503", "<h1>page /errors/503.html</h1>"},
		{"POST", "/500", "<h1>page /errors/500.html</h1>"},
		{"GET", "/404", "<h1>page /errors/404.html</h1>"},
		{"GET", "/403", "app body\n"},
		{"GET", "/200", "app body\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			rec := do(h, httptest.NewRequest(tt.method, tt.path, nil))
			want, _ := strconv.Atoi(tt.path[1:])
			if rec.Code != want || rec.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), want, tt.wantBody)
			}
			replaced := tt.wantBody != "app body\n"
			if replaced && (rec.Header().Get("X-App") != "" || rec.Header().Get("X-Page-Method") != "GET") {
				t.Errorf("headers of a replaced answer: %v", rec.Header())
			}
		})
	}
}

func TestErrorPagesErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *config.ErrorPages
		want string
	}{
		{"bad range", &config.ErrorPages{Status: []string{"500-400"}, Service: "pages@file"}, "errors.status[0]: "},
		{"not a status", &config.ErrorPages{Status: []string{"5xx"}, Service: "pages@file"}, "errors.status[0]: "},
		{"no service", &config.ErrorPages{Status: []string{"500"}}, "errors.service: "},
		{"unknown service", &config.ErrorPages{Status: []string{"500"}, Service: "nope@file"}, "errors.service: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{Errors: tt.c}, Options{Log: zap.NewNop(), Service: services})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestErrorPagesURLPlaceholder(t *testing.T) {
	wrap, err := New(&config.Middleware{Errors: &config.ErrorPages{
		Status: []string{"502"}, Service: "pages@file", Query: "/e/{status}?from={url}",
	}}, Options{Log: zap.NewNop(), Service: services})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(wrap(statusApp), httptest.NewRequest("GET", "/502?x=1", nil))
	if want := "<h1>page /e/502?from=%2F502%3Fx%3D1</h1>"; rec.Code != 502 || rec.Body.String() != want {
		t.Fatalf("got %d %q, want 502 %q", rec.Code, rec.Body.String(), want)
	}
}
