package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2specBin returns the h2spec binary: $FERRY_H2SPEC_BIN, else h2spec from
// PATH. Without one the test is skipped, or fails when
// FERRY_H2SPEC_REQUIRED is set (make e2e sets it after
// test/h2spec/ensure-h2spec.sh).
func h2specBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("FERRY_H2SPEC_BIN"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("h2spec")
	if err == nil {
		return bin
	}
	if os.Getenv("FERRY_H2SPEC_REQUIRED") != "" {
		t.Fatalf("no h2spec: FERRY_H2SPEC_BIN is unset and %v", err)
	}
	t.Skip("no h2spec: run test/h2spec/ensure-h2spec.sh (make e2e does) or set FERRY_H2SPEC_BIN")
	return ""
}

// h2specKnownFailure returns why h2spec's case id fails against Ferry, or
// "" when it must pass. Each reason names the check of TestH2spec that
// verifies it; a listed case that passes fails the test, so the list
// cannot go stale.
func h2specKnownFailure(id string, h2c bool) string {
	switch id {
	case "http2/4.2/3":
		return "h2spec assumes a SETTINGS_MAX_FRAME_SIZE of 16384, but Ferry (Go's HTTP/2 server) advertises 1 MiB, " +
			"so h2spec's 17 KB HEADERS frame is legal (golang/go#25023); checked by max-frame-size"
	case "http2/6.5.3/1":
		return "Go's HTTP/2 server ends the connection with PROTOCOL_ERROR when a SETTINGS frame repeats a parameter " +
			"(a guard against abusive SETTINGS) instead of applying the values in order; checked by duplicate-settings"
	case "http2/8.1.2.2/1", "http2/8.1.2.2/2":
		return "Go's HTTP/2 server answers a request with a connection-specific field (or TE other than trailers) " +
			"with 400 instead of RST_STREAM PROTOCOL_ERROR (golang/go#26321); the request never reaches a backend; " +
			"checked by connection-specific"
	case "http2/3.5/2":
		if h2c {
			return "the plain entry point also serves HTTP/1.1, so a wrong preface is read as an HTTP/1.1 request: " +
				"400, then the connection is closed; checked by invalid-preface"
		}
	}
	return ""
}

// TestH2spec runs h2spec, the HTTP/2 conformance suite, against Ferry
// proxying to a backend: over TLS on the entry point "websecure" and over
// h2c (prior knowledge) on "web". It fails on any failed case but the known
// ones above, whose reasons it checks with a raw HTTP/2 client.
func TestH2spec(t *testing.T) {
	bin := h2specBin(t)
	forwarded := map[string]*atomic.Int64{"/conn-specific/tls": {}, "/conn-specific/h2c": {}}
	count := func(w http.ResponseWriter, r *http.Request) {
		forwarded[r.URL.Path].Add(1)
		_, _ = io.WriteString(w, "ok\n")
	}
	b := StartBackend(t, "h2spec", map[string]http.HandlerFunc{"/conn-specific/tls": count, "/conn-specific/h2c": count})
	_, certPath, keyPath := selfSigned(t, t.TempDir(), "h2spec.test")
	websecure := reservedAddr(t, false)
	// h2spec sends :authority 127.0.0.1:<port>, hence routers on any host.
	f := StartFerry(t, Options{
		EntryPoints: fmt.Sprintf("  websecure:\n    address: %q\n", websecure),
		Dynamic: dyn(`
http:
  routers:
    plain:
      rule: "PathPrefix('/')"
      entryPoints: [web]
      service: b
    secure:
      rule: "PathPrefix('/')"
      entryPoints: [websecure]
      service: b
      tls: {}
  services:
    b:
      loadBalancer:
        servers:
          - url: %q
tls:
  certificates:
    - certFile: %q
      keyFile: %q
`, b.URL, certPath, keyPath)})
	f.WaitRoute("h2spec.test", "/", http.StatusOK, "h2spec")
	waitH2(t, websecure)

	for _, tg := range []struct {
		name, addr string
		tls        bool
	}{{"tls", websecure, true}, {"h2c", f.Web, false}} {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			t.Run("h2spec", func(t *testing.T) { runH2spec(t, bin, tg.addr, tg.tls) })
			t.Run("max-frame-size", func(t *testing.T) { checkMaxFrameSize(t, tg.addr, tg.tls) })
			t.Run("duplicate-settings", func(t *testing.T) { checkDuplicateSettings(t, tg.addr, tg.tls) })
			t.Run("connection-specific", func(t *testing.T) {
				checkConnectionSpecific(t, tg.addr, tg.tls, "/conn-specific/"+tg.name, forwarded["/conn-specific/"+tg.name])
			})
			if !tg.tls {
				t.Run("invalid-preface", func(t *testing.T) { checkInvalidPreface(t, tg.addr) })
			}
		})
	}
}

// waitH2 waits until addr answers GET / with 200 over HTTP/2 and TLS.
func waitH2(t *testing.T, addr string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "h2spec.test"}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: waitTimeout}
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := c.Get("https://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.ProtoMajor == 2 {
				return
			}
			err = fmt.Errorf("%s %s", resp.Proto, resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://%s/ not served over HTTP/2 within %s: %v", addr, waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// h2specCase is one case of an h2spec run.
type h2specCase struct {
	ID, Title, Detail string // ID is e.g. http2/4.2/3
	Failed, Skipped   bool
}

// runH2spec runs every h2spec case against addr and checks the outcome
// against h2specKnownFailure.
func runH2spec(t *testing.T, bin, addr string, useTLS bool) {
	host, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	args := []string{"-h", host, "-p", port, "-o", "3", "-j", report}
	if useTLS {
		args = append(args, "-t", "-k")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput() // exits 1 when a case fails
	if ctx.Err() != nil {
		t.Fatalf("h2spec did not end within 3 minutes:\n%s", tail(string(out), 8000))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("h2spec %s: %s", strings.Join(args, " "), lines[len(lines)-1])
	cases, rerr := readH2specReport(report)
	if rerr != nil || len(cases) < 140 {
		t.Fatalf("h2spec: %d cases read (%v), exit %v:\n%s", len(cases), rerr, err, tail(string(out), 8000))
	}
	var unexpected []string
	for _, c := range cases {
		reason := h2specKnownFailure(c.ID, !useTLS)
		switch {
		case c.Skipped:
		case c.Failed && reason == "":
			unexpected = append(unexpected, fmt.Sprintf("%s %s:\n%s", c.ID, c.Title, c.Detail))
		case c.Failed:
			t.Logf("known failure %s: %s", c.ID, reason)
		case reason != "":
			t.Errorf("h2spec %s (%s) passes now: drop it from h2specKnownFailure", c.ID, c.Title)
		}
	}
	if len(unexpected) > 0 {
		failures := string(out)
		if i := strings.Index(failures, "\nFailures:"); i >= 0 {
			failures = failures[i:]
		}
		t.Errorf("h2spec: %d case(s) failed:\n%s\n\nh2spec's report:%s", len(unexpected),
			strings.Join(unexpected, "\n"), tail(failures, 16000))
	}
}

// readH2specReport reads h2spec's JUnit report. A case's number is its
// place in its group, as h2spec numbers them.
func readH2specReport(path string) ([]h2specCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type text struct {
		Text string `xml:",chardata"`
	}
	var doc struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Title   string `xml:"classname,attr"`
				Failure *text  `xml:"failure"`
				Error   *text  `xml:"error"`
				Skipped *text  `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("h2spec report %s: %w", path, err)
	}
	var cases []h2specCase
	for _, s := range doc.Suites {
		for i, c := range s.Cases {
			hc := h2specCase{ID: fmt.Sprintf("%s/%d", s.Package, i+1), Title: c.Title, Skipped: c.Skipped != nil}
			for _, e := range []*text{c.Failure, c.Error} {
				if e != nil {
					hc.Failed = true
					hc.Detail += e.Text
				}
			}
			cases = append(cases, hc)
		}
	}
	return cases, nil
}

// h2Client is a raw HTTP/2 connection to Ferry, for the checks behind the
// known h2spec failures.
type h2Client struct {
	t        *testing.T
	conn     net.Conn
	fr       *http2.Framer
	scheme   string
	settings map[http2.SettingID]uint32 // the server's first SETTINGS
}

// dialH2 connects to addr (with TLS and ALPN h2, or h2c with prior
// knowledge), sends the preface with settings and reads the server's
// SETTINGS. Everything on the connection must end within waitTimeout.
func dialH2(t *testing.T, addr string, useTLS bool, settings ...http2.Setting) *h2Client {
	t.Helper()
	c := &h2Client{t: t, scheme: "http", settings: map[http2.SettingID]uint32{}}
	var err error
	if useTLS {
		c.scheme = "https"
		d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: "h2spec.test", NextProtos: []string{"h2"}}}
		c.conn, err = d.Dial("tcp", addr)
	} else {
		c.conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	_ = c.conn.SetDeadline(time.Now().Add(waitTimeout))
	c.fr = http2.NewFramer(c.conn, c.conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := io.WriteString(c.conn, http2.ClientPreface); err != nil {
		t.Fatalf("preface: %v", err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatalf("settings: %v", err)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = sf.ForeachSetting(func(s http2.Setting) error { c.settings[s.ID] = s.Val; return nil })
			if err := c.fr.WriteSettingsAck(); err != nil {
				t.Fatalf("settings ack: %v", err)
			}
			return c
		}
	}
}

// request sends GET path on stream 1 with the extra fields.
func (c *h2Client) request(path string, extra ...hpack.HeaderField) {
	c.t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", c.scheme}, {":authority", "h2spec.test"}, {":path", path}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for _, f := range extra {
		_ = enc.WriteField(f)
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		c.t.Fatalf("HEADERS: %v", err)
	}
}

// h2Outcome is what the server did with stream 1 and the connection.
type h2Outcome struct {
	Status int    // :status of the answer on stream 1; 0 when none came
	Data   []int  // the lengths of its DATA frames
	Reset  string // the error code of an RST_STREAM on stream 1
	GoAway string // the error code of a GOAWAY
	Closed bool   // the connection ended
}

func (o h2Outcome) String() string {
	return fmt.Sprintf("status %d, DATA %v, RST_STREAM %q, GOAWAY %q, closed %t", o.Status, o.Data, o.Reset, o.GoAway, o.Closed)
}

// outcome reads until stream 1 ends (or, with firstData, until its first
// DATA frame), a GOAWAY, or the end of the connection.
func (c *h2Client) outcome(firstData bool) h2Outcome {
	var o h2Outcome
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			o.Closed = true
			return o
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = c.fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == 1 && o.Status == 0 {
				_, _ = fmt.Sscan(f.PseudoValue("status"), &o.Status)
			}
			if f.StreamID == 1 && f.StreamEnded() {
				return o
			}
		case *http2.DataFrame:
			if f.StreamID == 1 {
				o.Data = append(o.Data, len(f.Data()))
				if firstData || f.StreamEnded() {
					return o
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				o.Reset = f.ErrCode.String()
				return o
			}
		case *http2.GoAwayFrame:
			o.GoAway = f.ErrCode.String()
			return o
		}
	}
}

// checkMaxFrameSize: Ferry advertises a SETTINGS_MAX_FRAME_SIZE above
// h2spec's assumed 16384 (4.2/3), and a HEADERS frame one byte over the
// advertised size is a connection error FRAME_SIZE_ERROR (RFC 9113 §4.2).
func checkMaxFrameSize(t *testing.T, addr string, useTLS bool) {
	c := dialH2(t, addr, useTLS)
	size, ok := c.settings[http2.SettingMaxFrameSize]
	if !ok || size <= 16384 {
		t.Fatalf("SETTINGS_MAX_FRAME_SIZE %d (sent: %t): h2spec's 4.2/3 is then a real failure", size, ok)
	}
	n := size + 1 // the frame header alone: the server must not wait for the payload
	hdr := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(http2.FrameHeaders),
		byte(http2.FlagHeadersEndHeaders | http2.FlagHeadersEndStream), 0, 0, 0, 1}
	if _, err := c.conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if o := c.outcome(false); o.GoAway != "FRAME_SIZE_ERROR" {
		t.Errorf("HEADERS frame of %d bytes (limit %d): %v, want GOAWAY FRAME_SIZE_ERROR", n, size, o)
	}
}

// checkDuplicateSettings: a SETTINGS frame that repeats
// SETTINGS_INITIAL_WINDOW_SIZE ends the connection with PROTOCOL_ERROR
// (6.5.3/1); the value itself is applied when given once: with a window of
// 1 byte, the answer comes 1 byte per DATA frame.
func checkDuplicateSettings(t *testing.T, addr string, useTLS bool) {
	c := dialH2(t, addr, useTLS)
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}); err != nil {
		t.Fatal(err)
	}
	if o := c.outcome(false); o.GoAway != "PROTOCOL_ERROR" {
		t.Errorf("SETTINGS with INITIAL_WINDOW_SIZE twice: %v, want GOAWAY PROTOCOL_ERROR", o)
	}
	c = dialH2(t, addr, useTLS, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
	c.request("/")
	if o := c.outcome(true); o.Status != http.StatusOK || len(o.Data) != 1 || o.Data[0] != 1 {
		t.Errorf("GET / with INITIAL_WINDOW_SIZE 1: %v, want status 200 and a 1-byte DATA frame", o)
	}
}

// checkConnectionSpecific: a request with a connection-specific field, or
// TE other than "trailers", is refused (8.1.2.2) and never forwarded; TE:
// trailers is allowed.
func checkConnectionSpecific(t *testing.T, addr string, useTLS bool, path string, forwarded *atomic.Int64) {
	for _, f := range []hpack.HeaderField{
		{Name: "connection", Value: "keep-alive"},
		{Name: "keep-alive", Value: "timeout=5"},
		{Name: "proxy-connection", Value: "keep-alive"},
		{Name: "transfer-encoding", Value: "chunked"},
		{Name: "upgrade", Value: "websocket"},
		{Name: "te", Value: "trailers, deflate"},
	} {
		c := dialH2(t, addr, useTLS)
		c.request(path, f)
		if o := c.outcome(false); o.Status != http.StatusBadRequest && o.Reset != "PROTOCOL_ERROR" && o.GoAway != "PROTOCOL_ERROR" {
			t.Errorf("GET with %s: %s: %v, want 400 or PROTOCOL_ERROR", f.Name, f.Value, o)
		}
	}
	c := dialH2(t, addr, useTLS)
	c.request(path, hpack.HeaderField{Name: "te", Value: "trailers"})
	if o := c.outcome(false); o.Status != http.StatusOK {
		t.Errorf("GET with te: trailers: %v, want status 200", o)
	}
	if n := forwarded.Load(); n != 1 {
		t.Errorf("the backend got %d requests, want 1 (te: trailers only)", n)
	}
}

// checkInvalidPreface: on the plain entry point, bytes that are not the
// HTTP/2 preface are an HTTP/1.1 request; a malformed one gets 400, or
// nothing, and the connection is closed (3.5/2 expects the close alone).
func checkInvalidPreface(t *testing.T, addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(conn, "INVALID CONNECTION PREFACE\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil || (len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 400 ")) {
		t.Errorf("invalid preface: read %q, %v; want an HTTP/1.1 400 answer or none, then the connection closed", got, err)
	}
}
