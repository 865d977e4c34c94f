package entrypoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ferryproxy/ferry/router/fault"
)

// h3Client returns an HTTP/3 client (quic-go's) that trusts any certificate.
func h3Client(t *testing.T) (*http.Client, *http3.Transport) {
	t.Helper()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}, tr
}

// countGauge is a Gauge the test reads.
type countGauge struct{ n atomic.Int64 }

func (g *countGauge) Inc() { g.n.Add(1) }
func (g *countGauge) Dec() { g.n.Add(-1) }

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHTTP3ServesTheSecureHandler(t *testing.T) {
	gauge := new(countGauge)
	addr, views := startListener(t, Options{HTTP3: &HTTP3Options{Connections: gauge}})
	client, tr := h3Client(t)
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("HTTP/3 GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" || resp.ProtoMajor != 3 {
		t.Fatalf("HTTP/3 GET: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
	if v := <-views; v.proto != "HTTP/3.0" || !v.tls || !v.secure {
		t.Fatalf("handler saw %s, TLS %v, secure %v; want HTTP/3.0 over TLS to the secure handler", v.proto, v.tls, v.secure)
	}
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("HTTP/3 answer announces %q", got)
	}
	if n := gauge.n.Load(); n != 1 {
		t.Errorf("HTTP3 connections gauge %d with one connection open, want 1", n)
	}
	_ = tr.Close()
	waitFor(t, "gauge back to 0 after the client closed", func() bool { return gauge.n.Load() == 0 })
}

func TestHTTP3AltSvc(t *testing.T) {
	for _, advertised := range []int{0, 443} {
		t.Run(fmt.Sprintf("advertisedPort=%d", advertised), func(t *testing.T) {
			addr, views := startListener(t, Options{HTTP3: &HTTP3Options{AdvertisedPort: advertised}})
			go func() {
				for range views {
				}
			}()
			_, port, _ := net.SplitHostPort(addr)
			if advertised != 0 {
				port = strconv.Itoa(advertised)
			}
			want := `h3=":` + port + `"; ma=2592000`
			for _, proto := range []string{"h2", "http/1.1"} {
				tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{proto}},
					ForceAttemptHTTP2: proto == "h2"}
				resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				tr.CloseIdleConnections()
				if got := resp.Header.Values("Alt-Svc"); len(got) != 1 || got[0] != want {
					t.Errorf("%s over TLS: Alt-Svc %q, want %q", resp.Proto, got, want)
				}
			}
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Alt-Svc"); got != "" {
				t.Errorf("plain HTTP answer announces %q; browsers take Alt-Svc from https origins only", got)
			}
		})
	}
}

func TestHTTP3NoAltSvcWhenOff(t *testing.T) {
	addr, views := startListener(t, Options{})
	go func() {
		for range views {
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Fatalf("Alt-Svc %q without HTTP/3", got)
	}
}

func TestHTTP3Limits(t *testing.T) {
	addr, views := startListener(t, Options{HTTP3: &HTTP3Options{}, MaxURLLength: 100, MaxHeaderBytes: 1024,
		ReadTimeout: 300 * time.Millisecond})
	client, _ := h3Client(t)
	url := "https://" + addr

	t.Run("URL too long: 414, as on TCP", func(t *testing.T) {
		resp, err := client.Get(url + "/" + strings.Repeat("a", 200))
		if err != nil {
			t.Fatalf("GET: %v (an answer with connection-specific headers is malformed in HTTP/3)", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestURITooLong {
			t.Fatalf("status %d, want 414", resp.StatusCode)
		}
	})
	t.Run("headers too large: 431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("b", 2048))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("stalled body: 408, the client's fault", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() { _, _ = pw.Write([]byte("half")) }() // then nothing more
		req, _ := http.NewRequest(http.MethodPost, url+"/", pr)
		req.ContentLength = 100
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("status %d, want 408", resp.StatusCode)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("cut after %v, want about 300ms", d)
		}
		v := <-views
		if be := (*fault.BodyError)(nil); !errors.As(v.bodyErr, &be) || v.body != 4 {
			t.Fatalf("handler read %d bytes, error %v; want 4 and a BodyError", v.body, v.bodyErr)
		}
	})
	t.Run("a slow body that keeps moving is never cut", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for range 6 {
				time.Sleep(100 * time.Millisecond)
				_, _ = pw.Write([]byte("x"))
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, url+"/", pr)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := <-views; resp.StatusCode != 200 || v.body != 6 || v.bodyErr != nil {
			t.Fatalf("status %d; handler read %d, %v", resp.StatusCode, v.body, v.bodyErr)
		}
	})
	t.Run("CONNECT opens no tunnel: 501", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodConnect, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotImplemented {
			t.Fatalf("status %d, want 501", resp.StatusCode)
		}
	})
}

// h3Run is a listener with HTTP/3 on, served until the test stops it.
type h3Run struct {
	*Listener
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned, err then set
	err    error
}

// startH3 serves h on a new listener with HTTP/3 on; the test's end
// stops it and checks that Serve returned without error.
func startH3(t *testing.T, opts Options, h http.Handler) *h3Run {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	opts.Name, opts.Address = "test", "127.0.0.1:0"
	if opts.HTTP3 == nil {
		opts.HTTP3 = &HTTP3Options{}
	}
	l, err := Listen(zap.New(core), opts, h, h, testCertificate(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &h3Run{Listener: l, logs: logs, cancel: cancel, done: make(chan struct{})}
	go func() {
		run.err = l.Serve(ctx)
		close(run.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-run.done
		if run.err != nil {
			t.Errorf("Serve: %v", run.err)
		}
	})
	return run
}

func TestHTTP3GracefulShutdown(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(arrived)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})
	run := startH3(t, Options{GraceTimeout: 5 * time.Second}, h)
	addr := run.Addr().String()
	client, _ := h3Client(t)
	type answer struct {
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := client.Get("https://" + addr + "/hold")
		if err != nil {
			answers <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers <- answer{string(b), err}
	}()
	<-arrived
	run.cancel()

	// New HTTP/3 clients are refused at once while the request is in flight.
	late, _ := h3Client(t)
	waitFor(t, "new HTTP/3 connections refused after shutdown began", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/", nil)
		resp, err := late.Do(req)
		if err == nil {
			resp.Body.Close()
			return false
		}
		var te *quic.TransportError
		if !errors.As(err, &te) || te.ErrorCode != quic.ConnectionRefused {
			t.Fatalf("a new connection after shutdown began: %v, want CONNECTION_REFUSED", err)
		}
		return true
	})
	select {
	case <-run.done:
		t.Fatalf("Serve returned (%v) with a request in flight", run.err)
	default:
	}
	close(release)
	if a := <-answers; a.err != nil || a.body != "done" {
		t.Fatalf("in-flight request: %q, %v; want it completed", a.body, a.err)
	}
	select {
	case <-run.done:
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return once the in-flight request completed (the client closes after GOAWAY)")
	}
	// The UDP port is free again.
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP port still bound after Serve returned: %v", err)
	}
	pc.Close()
}

func TestHTTP3MaxConnections(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	addr := startH3(t, Options{MaxConnections: 1}, h).Addr().String()
	get := func(c *http.Client) error {
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	first, firstTr := h3Client(t)
	if err := get(first); err != nil {
		t.Fatalf("first client: %v", err)
	}
	second, _ := h3Client(t)
	if err := get(second); err == nil {
		t.Fatal("second QUIC connection served while the first holds the only slot")
	}
	// TCP connections have a budget of their own.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	if err := get(&http.Client{Transport: tr, Timeout: 5 * time.Second}); err != nil {
		t.Fatalf("HTTP/2 while a QUIC connection holds the QUIC slot: %v", err)
	}
	_ = firstTr.Close()
	waitFor(t, "second client served once the first closed", func() bool { return get(second) == nil })
}

func TestHTTP3RapidReset(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return
		}
		// Waits for a body that never comes, then, as a proxy would, for
		// the request to end: quic-go cancels its context just after the
		// reset reaches the body.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	run := startH3(t, Options{}, h)
	addr := run.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	qc, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")
	cc := (&http3.Transport{}).NewClientConn(qc)
	sent := 0
	for ; sent < 5000 && qc.Context().Err() == nil && ctx.Err() == nil; sent++ {
		str, err := cc.OpenRequestStream(ctx)
		if err != nil {
			break
		}
		req, _ := http.NewRequest(http.MethodPost, "https://a/", nil)
		req.ContentLength = 100
		if err := str.SendRequestHeader(req); err != nil {
			break
		}
		if sent%10 == 9 {
			time.Sleep(time.Millisecond) // let handlers start
		}
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	}
	select {
	case <-qc.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("connection still open after %d streams opened and reset", sent)
	}
	t.Logf("connection closed after %d streams opened and reset", sent)
	var appErr *quic.ApplicationError
	if err := context.Cause(qc.Context()); !errors.As(err, &appErr) || appErr.ErrorCode != quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad) {
		t.Fatalf("connection closed by %v, want H3_EXCESSIVE_LOAD", err)
	}
	if run.logs.FilterMessageSnippet("rapid reset").Len() != 1 {
		t.Errorf("want one warning about the rapid reset, got %v", run.logs.All())
	}
	client, _ := h3Client(t) // other clients are served
	resp, err := client.Get("https://" + addr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the attack: %v, %v", resp, err)
	}
	resp.Body.Close()
}

func TestSizeUDPBuffers(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if limited := sizeUDPBuffers(c, 64<<10, false); len(limited) != 0 {
		t.Fatalf("64 KiB refused: %v", limited)
	}
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip("no /proc/sys/net/core/rmem_max:", err)
	}
	rmemMax, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	want := 4*rmemMax + 1<<20 // the kernel grants at most twice the limit
	limited := sizeUDPBuffers(c, want, false)
	if len(limited) == 0 || !strings.Contains(strings.Join(limited, " "), "net.core.rmem_max") {
		t.Fatalf("asking %d bytes past net.core.rmem_max=%d: limited %v, want net.core.rmem_max named", want, rmemMax, limited)
	}
}
