// Package main is a small HTTP backend for Ferry's demo and benchmark. It
// serves the echo handler (see package echo): every path answers 200 with the
// request as JSON and the header X-Backend: <name>; /ws echoes WebSocket
// messages; /sse?n=5 streams events; /status/<code> answers that code;
// /slow?ms=N answers late.
//
// Usage:
//
//	backend -addr 127.0.0.1:9001 -name whoami-1
//
// The first line on stdout is "listening on <addr>".
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
	"syscall"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	name := flag.String("name", "backend", "name reported in answers and the X-Backend header")
	flag.Parse()
	if err := run(*addr, *name); err != nil {
		log.Fatal(err)
	}
}

func run(addr, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("backend: listen %s: %w", addr, err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: echo.Handler(name), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("backend: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("backend: shutdown: %w", err)
	}
	return nil
}
