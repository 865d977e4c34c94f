// Command wsload measures WebSocket echo round trips through a proxy on
// loopback: it opens c connections with an Upgrade to a WebSocket echo
// endpoint (test/backend's /ws), then each connection sends a small binary
// message and waits for its echo, again and again, for a warm-up and then
// for a measured duration, or until n round trips per connection.
//
//	wsload -addr 127.0.0.1:18180 -host bench.local -path /ws -c 64 -d 10s
//
// It prints one line: round trips/s, p50, p99, the round trips counted and
// the errors (a failed upgrade fails the run).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/bits"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18180", "proxy address (loopback)")
	host := flag.String("host", "bench.local", "Host header")
	path := flag.String("path", "/ws", "WebSocket echo path")
	conns := flag.Int("c", 64, "connections")
	size := flag.Int("size", 16, "message size in bytes")
	warmup := flag.Duration("warmup", time.Second, "warm-up, not counted")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	n := flag.Int64("n", 10_000_000, "most round trips per connection")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{addr: *addr, host: *host, path: *path, conns: *conns, size: *size,
		warmup: *warmup, dur: *dur, n: *n}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
}

// config is one run's parameters.
type config struct {
	addr, host, path string
	conns, size      int
	warmup, dur      time.Duration
	n                int64
}

// result is one connection's tally.
type result struct {
	hist   hist
	count  int64
	errors int64
	err    error
}

func run(ctx context.Context, cfg config) error {
	if cfg.conns < 1 || cfg.size < 1 || cfg.dur <= 0 || cfg.n < 1 {
		return errors.New("-c, -size, -d and -n must be positive")
	}
	ws, err := dialAll(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range ws {
			_ = c.Close()
		}
	}()
	start := time.Now().Add(cfg.warmup)
	end := start.Add(cfg.dur)
	results := make([]result, len(ws))
	var wg sync.WaitGroup
	for i, c := range ws {
		wg.Go(func() { results[i] = loop(ctx, c, cfg, start, end) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total hist
	var count, failed int64
	for _, r := range results {
		if r.err != nil {
			return r.err
		}
		total.add(&r.hist)
		count += r.count
		failed += r.errors
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Printf("round_trips/s %.1f p50 %s p99 %s round_trips %d connections %d errors %d\n",
		float64(count)/elapsed.Seconds(), format(total.quantile(0.50)), format(total.quantile(0.99)),
		count, len(ws), failed)
	return nil
}

// dialAll opens the connections, 16 at a time.
func dialAll(ctx context.Context, cfg config) ([]*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	hdr := http.Header{"Host": {cfg.host}}
	url := "ws://" + cfg.addr + cfg.path
	ws := make([]*websocket.Conn, cfg.conns)
	errs := make([]error, cfg.conns)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range ws {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, resp, err := d.DialContext(ctx, url, hdr)
			if err != nil {
				if resp != nil {
					err = fmt.Errorf("%w (status %d)", err, resp.StatusCode)
				}
				errs[i] = fmt.Errorf("upgrade %s (Host %s): %w", url, cfg.host, err)
				return
			}
			ws[i] = c
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range ws {
			if c != nil {
				_ = c.Close()
			}
		}
		return nil, err
	}
	return ws, nil
}

// loop sends a message and reads its echo until end, n round trips or an
// error; round trips that start at or after start are counted.
func loop(ctx context.Context, c *websocket.Conn, cfg config, start, end time.Time) result {
	var r result
	msg := bytes.Repeat([]byte{'w'}, cfg.size)
	_ = c.SetReadDeadline(end.Add(5 * time.Second))
	_ = c.SetWriteDeadline(end.Add(5 * time.Second))
	for i := int64(0); i < cfg.n && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			r.err = fmt.Errorf("write: %w", err)
			return r
		}
		_, echo, err := c.ReadMessage()
		if err != nil {
			r.err = fmt.Errorf("read: %w", err)
			return r
		}
		if t0.Before(start) {
			continue
		}
		if !bytes.Equal(echo, msg) {
			r.errors++
			continue
		}
		r.hist.record(time.Since(t0))
		r.count++
	}
	return r
}

// hist counts durations in logarithmic buckets: exact below 64 ns, then 32
// buckets per power of two (about 3% wide).
type hist struct{ counts [histBuckets]int64 }

const histBuckets = 64 + 40*32

func bucketOf(d time.Duration) int {
	ns := uint64(max(d, 0))
	if ns < 64 {
		return int(ns)
	}
	e := bits.Len64(ns) - 6 // ns>>e is in [32, 64)
	return min(64+(e-1)*32+int(ns>>e)-32, histBuckets-1)
}

// lowOf is the smallest duration of bucket i.
func lowOf(i int) time.Duration {
	if i < 64 {
		return time.Duration(i)
	}
	e := (i-64)/32 + 1
	return time.Duration(uint64((i-64)%32+32) << e)
}

func (h *hist) record(d time.Duration) { h.counts[bucketOf(d)]++ }

func (h *hist) add(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// quantile returns the middle of the bucket holding quantile q.
func (h *hist) quantile(q float64) time.Duration {
	var total int64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total-1)) + 1
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i+1 < histBuckets {
				return (lowOf(i) + lowOf(i+1)) / 2
			}
			return lowOf(i)
		}
	}
	return 0
}

// format prints d as wrk does: 812.00us, 1.25ms, 1.02s.
func format(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fus", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
