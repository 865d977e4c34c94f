package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trafficClient sends requests through Ferry from a chosen loopback
// address, so Ferry sees distinct client IPs (127.0.0.1, 127.0.0.2, ...).
type trafficClient struct {
	t      *testing.T
	f      *Ferry
	client *http.Client
	// addr is the entry point the client talks to (default f.Web).
	addr string
}

// clientFrom returns a client whose connections come from localIP.
func clientFrom(t *testing.T, f *Ferry, localIP string) *trafficClient {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &trafficClient{t: t, f: f, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// do sends method host+path with optional headers; it fails the test on a
// transport error.
func (c *trafficClient) do(method, host, path string, hdr http.Header, body io.Reader) *Result {
	c.t.Helper()
	addr := c.addr
	if addr == "" {
		addr = c.f.Web
	}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Host = host
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s http://%s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s http://%s%s: read body: %v", method, host, path, err)
	}
	res := &Result{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(b, &res.Echo)
	}
	return res
}

// get is do with GET and no body.
func (c *trafficClient) get(host, path string) *Result {
	c.t.Helper()
	return c.do(http.MethodGet, host, path, nil, nil)
}

// routerStatus returns a router's status and errors from the API.
func routerStatus(f *Ferry, name string) (string, []string) {
	_, m := f.Routers()
	r, ok := m[name]
	if !ok {
		return "absent", nil
	}
	return r.Status, r.Error
}

// middlewareStatus returns a middleware's status and errors from the API.
func middlewareStatus(f *Ferry, name string) (string, []string) {
	var list []struct {
		Name   string   `json:"name"`
		Status string   `json:"status"`
		Error  []string `json:"error"`
	}
	f.APIGet("/api/http/middlewares", &list)
	for _, m := range list {
		if m.Name == name {
			return m.Status, m.Error
		}
	}
	return "absent", nil
}

// waitFor polls cond every 20ms until it holds, failing after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedURL returns an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + reservedAddr(t, false)
}
