// Command tcpload measures a TCP proxy on loopback: throughput of echoed
// streams and the rate of short connections. It also serves the echo
// backend the proxies forward to. Every run is bounded in time and size.
//
//	tcpload serve -addr 127.0.0.1:18290
//	tcpload throughput -addr 127.0.0.1:18291 -conns 4 -size 512 -d 10s
//	tcpload rate -addr 127.0.0.1:18291 -conns 32 -d 5s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tcpload serve|throughput|rate [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18290", "address to serve on or connect to")
	conns := fs.Int("conns", 4, "concurrent connections")
	size := fs.Int("size", 512, "MiB sent per connection (throughput)")
	dur := fs.Duration("d", 10*time.Second, "run time bound")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, *addr)
	case "throughput":
		err = throughput(*addr, *conns, int64(*size)<<20, *dur)
	case "rate":
		err = rate(*addr, *conns, *dur)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcpload:", err)
		os.Exit(1)
	}
}

// serve echoes every connection until the client half-closes.
func serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
	}
}

// throughput sends size bytes on each connection (or until d passes) and
// reads the echo back; it prints the echoed MiB/s.
func throughput(addr string, conns int, size int64, d time.Duration) error {
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(deadline.Add(5 * time.Second))
			go func() {
				buf := make([]byte, 64<<10)
				var sent int64
				for sent < size && time.Now().Before(deadline) {
					n, err := c.Write(buf)
					sent += int64(n)
					if err != nil {
						return
					}
				}
				_ = c.(*net.TCPConn).CloseWrite()
			}()
			n, err := io.Copy(io.Discard, c)
			total.Add(n)
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	elapsed := time.Since(start)
	for err := range errs {
		return err
	}
	mib := float64(total.Load()) / (1 << 20)
	fmt.Printf("throughput %.0f MiB/s (%.0f MiB echoed over %d connections in %.1fs)\n", mib/elapsed.Seconds(), mib, conns, elapsed.Seconds())
	return nil
}

// rate opens short connections (connect, 1 byte each way, close) from
// conns workers for d and prints connections per second.
func rate(addr string, conns int, d time.Duration) error {
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			buf := make([]byte, 1)
			for time.Now().Before(deadline) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write([]byte{'x'})
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("rate %.0f conn/s (%d connections, %d failed, %d workers, %.1fs)\n",
		float64(done.Load())/elapsed.Seconds(), done.Load(), failed.Load(), conns, elapsed.Seconds())
	if failed.Load() > done.Load()/100 {
		return fmt.Errorf("%d of %d connections failed", failed.Load(), failed.Load()+done.Load())
	}
	return nil
}
