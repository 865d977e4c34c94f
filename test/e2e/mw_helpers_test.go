package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/bcrypt"
)

// mwBcrypt returns an htpasswd line with a bcrypt hash of password.
func mwBcrypt(t *testing.T, user, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h)
}

// mwBasic is an Authorization header with basic credentials.
func mwBasic(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

// mwDo sends a request through Ferry and fails the test on a transport error.
func mwDo(f *Ferry, method, host, path string, hdr http.Header) *Result {
	f.t.Helper()
	res, err := f.Do(method, host, path, hdr)
	if err != nil {
		f.t.Fatalf("%s http://%s%s: %v", method, host, path, err)
	}
	return res
}

// mwDecode decodes a body in the given content coding ("" for none).
func mwDecode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "gzip":
		g, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = g
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer z.Close()
		r = z
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", coding, err)
	}
	return out
}

// mwFirstEvent opens an event stream through Ferry and returns the first
// event and how long it took to arrive; the stream is then dropped.
func mwFirstEvent(t *testing.T, f *Ferry, host, path string, hdr http.Header) (string, http.Header, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+f.Web+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	tr := &http.Transport{DisableCompression: true, ResponseHeaderTimeout: waitTimeout}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var ev strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, ev.String())
		}
		if line == "\n" {
			break
		}
		ev.WriteString(line)
	}
	return ev.String(), resp.Header, time.Since(start)
}
