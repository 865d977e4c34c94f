package middleware

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// statusRange is an inclusive range of status codes.
type statusRange struct{ from, to int }

// parseStatusRanges parses "500-599", "404" entries.
func parseStatusRanges(option string, list []string) ([]statusRange, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no status", option)
	}
	out := make([]statusRange, 0, len(list))
	for i, s := range list {
		from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
		lo, err1 := strconv.Atoi(strings.TrimSpace(from))
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(strings.TrimSpace(to))
		}
		if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
			return nil, fmt.Errorf("%s[%d]: invalid status or range %q (want e.g. 404 or 500-599)", option, i, s)
		}
		out = append(out, statusRange{lo, hi})
	}
	return out, nil
}

// errorPages replaces answers whose status is in a range with a page from
// another service, keeping the status.
type errorPages struct {
	ranges  []statusRange
	service http.Handler
	query   string
}

func newErrorPages(c *config.ErrorPages, opts Options) (Wrapper, error) {
	ranges, err := parseStatusRanges("errors.status", c.Status)
	if err != nil {
		return nil, err
	}
	if c.Service == "" {
		return nil, fmt.Errorf("errors.service: missing")
	}
	if opts.Service == nil {
		return nil, fmt.Errorf("errors.service: no services available")
	}
	svc, ok := opts.Service(c.Service)
	if !ok {
		return nil, fmt.Errorf("errors.service: service %q does not exist or is disabled", c.Service)
	}
	query := c.Query
	if query == "" {
		query = "/"
	}
	if query[0] != '/' {
		query = "/" + query
	}
	e := &errorPages{ranges: ranges, service: svc, query: query}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, next) })
	}, nil
}

func (e *errorPages) matches(code int) bool {
	for _, r := range e.ranges {
		if code >= r.from && code <= r.to {
			return true
		}
	}
	return false
}

func (e *errorPages) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ew := &errorWriter{ResponseWriter: w, e: e}
	next.ServeHTTP(ew, r)
	if !ew.caught {
		return
	}
	// The application's error answer was held back; ask the error service.
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	target := strings.ReplaceAll(e.query, "{status}", strconv.Itoa(ew.status))
	target = strings.ReplaceAll(target, "{url}", url.QueryEscape(r.URL.String()))
	u, err := url.ParseRequestURI(target)
	if err != nil {
		w.WriteHeader(ew.status)
		return
	}
	pr := r.Clone(r.Context())
	pr.Method = http.MethodGet
	pr.URL = u
	pr.RequestURI = ""
	pr.Body, pr.ContentLength, pr.GetBody = http.NoBody, 0, nil
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range"} {
		delete(pr.Header, k)
	}
	e.service.ServeHTTP(&statusWriter{ResponseWriter: w, status: ew.status}, pr)
}

// errorWriter holds back an answer whose status is in the ranges.
type errorWriter struct {
	http.ResponseWriter
	e       *errorPages
	status  int
	written bool
	caught  bool
}

func (w *errorWriter) WriteHeader(code int) {
	if w.written || code < 200 {
		if !w.caught {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.written, w.status = true, code
	if w.e.matches(code) {
		w.caught = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if w.caught {
		return len(b), nil // the page replaces this body
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data, unless the answer is being replaced.
func (w *errorWriter) Flush() {
	if w.caught {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (protocol upgrades).
func (w *errorWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusWriter forces the status of the error page to the original one.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(w.status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
