package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkProxyHTTP1 measures one proxied HTTP/1.1 keep-alive request
// through the whole running server (entry point, routing, the service's
// proxy and its upstream client) between a client and a backend that
// themselves allocate nothing per request: allocs/op is Ferry's. Each
// parallel worker keeps one client connection.
func BenchmarkProxyHTTP1(b *testing.B) {
	backend := startRawBackend(b, []byte("hello, world\n"))
	addr := startBenchFerry(b, backend)
	req := []byte("GET /bytes/13 HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 4096)
		for pb.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			if err := readRawResponse(br); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// readRawResponse reads one answer with a Content-Length and a 200 status
// without allocating.
func readRawResponse(br *bufio.Reader) error {
	length, status := -1, 0
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			if len(line) < 12 {
				return fmt.Errorf("bad status line %q", line)
			}
			status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
			continue
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && len(k) == len("Content-Length") && bytes.EqualFold(k, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
			length = n
		}
	}
	if status != http.StatusOK || length < 0 {
		return fmt.Errorf("status %d, length %d", status, length)
	}
	_, err := br.Discard(length)
	return err
}

// startRawBackend answers every request of every connection with body,
// reading requests up to their blank line (they have no body).
func startRawBackend(tb testing.TB, body []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReaderSize(conn, 4096)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := conn.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// startBenchFerry serves one router to backend on a free loopback port,
// logging errors only, and returns the entry point's address once the
// route answers.
func startBenchFerry(tb testing.TB, backend string) string {
	dir := tb.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	writeFile(tb, filepath.Join(dir, "dynamic.yaml"), "http:\n  routers:\n    bench:\n      rule: Host(`bench.local`)\n      service: bench\n"+
		"  services:\n    bench:\n      loadBalancer:\n        servers:\n          - url: http://"+backend+"\n")
	path := filepath.Join(dir, "ferry.yaml")
	writeFile(tb, path, "entryPoints:\n  web:\n    address: "+addr+"\nlog:\n  level: error\n"+
		"providers:\n  file:\n    filename: "+filepath.Join(dir, "dynamic.yaml")+"\n    watch: false\n")
	static, problems := readStatic(path)
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, static) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = "bench.local"
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				client.CloseIdleConnections()
				return addr
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the bench route does not answer within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
