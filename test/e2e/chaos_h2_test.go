package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// chaosResetConns is how many h2c connections open and reset streams at once.
const chaosResetConns = 2

// chaosResetResult is what one rapid-reset connection saw.
type chaosResetResult struct {
	// Sent is how many streams were opened and reset.
	Sent int
	// GoAway is the server's GOAWAY, if it sent one.
	GoAway string
	// Stopped is why sending stopped before all streams were sent.
	Stopped string
}

// chaosRapidReset opens HTTP/2 streams over h2c and resets each at once
// (CVE-2023-44487), on a few connections, as fast as it can. Ferry must
// keep serving: legitimate clients get 200 (the phase's load, and an h2c
// request afterwards), and the upstream stays UP.
func chaosRapidReset(t *testing.T, env *chaosEnv) {
	host := guardedHost("rapidreset")
	up := env.guarded["rapidreset"]
	hits := up.hits.Load()
	start := time.Now()
	results := make([]chaosResetResult, chaosResetConns)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = chaosResetStreams(env.Edge, host, env.cfg.Resets, 2*waitTimeout) })
	}
	wg.Wait()
	var lines []string
	for i, r := range results {
		lines = append(lines, fmt.Sprintf("conn %d: %d streams reset; GOAWAY %q; stopped: %q", i, r.Sent, r.GoAway, r.Stopped))
	}
	t.Logf("rapidreset: in %s, %d requests reached the upstream\n  %s",
		time.Since(start).Round(time.Millisecond), up.hits.Load()-hits, strings.Join(lines, "\n  "))

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "http://"+env.Edge+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Do(req)
	if err != nil {
		t.Fatalf("rapidreset: an h2c request after the attack: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("rapidreset: an h2c request after the attack: %s %s, want 200 over HTTP/2", resp.Proto, resp.Status)
	}
}

// chaosResetStreams opens n streams on one h2c connection to addr, each a
// GET of host's /upload, resetting each right after its HEADERS, within d.
func chaosResetStreams(addr, host string, n int, d time.Duration) chaosResetResult {
	var r chaosResetResult
	c, err := chaosDial(addr)
	if err != nil {
		r.Stopped = err.Error()
		return r
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	bw := bufio.NewWriterSize(c, 64<<10)
	fr := http2.NewFramer(bw, c)
	goAway := make(chan string, 1)
	go func() { // reads until the connection ends; reports a GOAWAY
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				close(goAway)
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				select {
				case goAway <- fmt.Sprintf("%v, last stream %d", ga.ErrCode, ga.LastStreamID):
				default:
				}
			}
		}
	}()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	_, err = io.WriteString(bw, http2.ClientPreface)
	if err == nil {
		err = fr.WriteSettings()
	}
	for i := 0; i < n && err == nil; i++ {
		id := uint32(2*i + 1)
		block.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", host}, {":path", "/upload"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		if err == nil {
			err = fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err == nil && i%32 == 31 {
			err = bw.Flush()
		}
		if err == nil {
			r.Sent++
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		r.Stopped = err.Error()
	}
	// Give a GOAWAY a moment to arrive.
	select {
	case ga, ok := <-goAway:
		if ok {
			r.GoAway = ga
		}
	case <-time.After(500 * time.Millisecond):
	}
	return r
}
