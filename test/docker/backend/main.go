// Package main is the backend that Ferry's Docker tests run inside
// containers, built as a static binary and imported as an image. It serves
// the echo handler (package echo) with two additions for containers:
//
//   - every answer carries X-Local-Addr, the address the request reached
//     (so a test sees which network a container was reached on);
//   - /healthz answers 503 until /healthz/ok is requested, and
//     "backend -check URL" exits 0 when URL answers 200, for HEALTHCHECK.
//
// On SIGTERM it keeps serving for -drain (as a real service's stop grace
// period would), then shuts down.
//
// Usage:
//
//	backend -addr :8080 -name web-1 -drain 1s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	name := flag.String("name", "", "name reported in answers (default: the host name)")
	drain := flag.Duration("drain", 0, "keep serving this long after SIGTERM")
	check := flag.String("check", "", "health check mode: exit 0 when this URL answers 200")
	flag.Parse()
	if *check != "" {
		os.Exit(runCheck(*check))
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	if err := run(*addr, *name, *drain); err != nil {
		log.Fatal(err)
	}
}

func runCheck(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func run(addr, name string, drain time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("backend: listen %s: %w", addr, err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	var healthy atomic.Bool
	echoH := echo.Handler(name)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/healthz/ok", func(http.ResponseWriter, *http.Request) { healthy.Store(true) })
	mux.Handle("/", echoH)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			w.Header().Set("X-Local-Addr", la.String())
		}
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("backend: serve: %w", err)
	case <-ctx.Done():
	}
	time.Sleep(drain)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("backend: shutdown: %w", err)
	}
	return nil
}
