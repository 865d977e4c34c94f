// Command idleconns opens n keep-alive connections to a proxy on loopback,
// sends one request on each and reads its answer, then keeps them all open
// and idle until its standard input closes, for measuring the memory a
// proxy holds per idle client connection (test/bench/idle.sh).
//
//	idleconns -addr 127.0.0.1:18180 -host bench.local -n 10000
//
// It prints "ready <n>" once every connection is idle.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18180", "proxy address (loopback)")
	host := flag.String("host", "bench.local", "Host header")
	n := flag.Int("n", 10000, "connections")
	flag.Parse()
	conns, err := open(*addr, *host, *n)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ready %d\n", len(conns))
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}

// open makes the connections, 64 at a time.
func open(addr, host string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(c, "GET /bytes/13 HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
				errs <- err
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			_ = c.SetDeadline(time.Time{})
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("idleconns: %w (and %d more errors)", err, len(errs))
	}
	return conns, nil
}
