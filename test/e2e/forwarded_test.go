package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// TestForwardedHeadersTrust checks that a client cannot pose as a proxy:
// its X-Forwarded-* headers are removed on an entry point that does not
// trust it, and passed on (appended to) from a trusted peer.
func TestForwardedHeadersTrust(t *testing.T) {
	t.Parallel()
	b := StartBackend(t, "b", nil)
	trusted := reservedAddr(t, false)
	f := StartFerry(t, Options{EntryPoints: fmt.Sprintf(`  trusted:
    address: %q
    forwardedHeaders:
      trustedIPs: ["127.0.0.0/8"]
`, trusted), Dynamic: dyn(`
http:
  routers:
    echo:
      rule: "Host('fwd.test') && PathPrefix('/echo')"
      service: app
    secure-only:
      rule: "Host('fwd.test') && PathPrefix('/login')"
      service: app
      middlewares: [to-https]
    office:
      rule: "Host('fwd.test') && PathPrefix('/office')"
      service: app
      middlewares: [office-only]
  middlewares:
    to-https:
      redirectScheme: {scheme: https}
    office-only:
      ipAllowList:
        sourceRange: ["1.2.3.0/24"]
        ipStrategy: {depth: 1}
  services:
    app:
      loadBalancer:
        servers:
          - url: %q
`, b.URL)})
	f.WaitRoute("fwd.test", "/echo", http.StatusOK, "")

	forged := http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"}, "X-Real-Ip": {"1.2.3.4"},
		"X-Forwarded-Host": {"evil.test"}}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(addr, path string) (*http.Response, echo.Response) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Host = "fwd.test"
		for k, v := range forged {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var e echo.Response
		_ = json.Unmarshal(body, &e)
		return resp, e
	}

	// Untrusted (the default entry point): the forged values are gone.
	resp, e := get(f.Web, "/echo")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("untrusted /echo: %d", resp.StatusCode)
	}
	if got := e.Header("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("untrusted: upstream saw X-Forwarded-For %q, want the real client 127.0.0.1", got)
	}
	if got := e.Header("X-Forwarded-Proto"); got != "http" {
		t.Errorf("untrusted: upstream saw X-Forwarded-Proto %q, want http", got)
	}
	if got := e.Header("X-Real-Ip"); got != "127.0.0.1" {
		t.Errorf("untrusted: upstream saw X-Real-Ip %q", got)
	}
	if got := e.Header("X-Forwarded-Host"); got != "fwd.test" {
		t.Errorf("untrusted: upstream saw X-Forwarded-Host %q", got)
	}
	if resp, _ := get(f.Web, "/login"); resp.StatusCode/100 != 3 {
		t.Errorf("untrusted: a forged X-Forwarded-Proto: https skipped redirectScheme (%d)", resp.StatusCode)
	}
	if resp, _ := get(f.Web, "/office"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("untrusted: a forged X-Forwarded-For passed ipAllowList (%d)", resp.StatusCode)
	}

	// Trusted peer: the proxy's headers pass, the client is appended.
	resp, e = get(trusted, "/echo")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("trusted /echo: %d", resp.StatusCode)
	}
	if got := e.Header("X-Forwarded-For"); got != "1.2.3.4, 127.0.0.1" {
		t.Errorf("trusted: upstream saw X-Forwarded-For %q, want \"1.2.3.4, 127.0.0.1\"", got)
	}
	if got := e.Header("X-Forwarded-Proto"); got != "https" {
		t.Errorf("trusted: upstream saw X-Forwarded-Proto %q, want https", got)
	}
	if resp, _ := get(trusted, "/login"); resp.StatusCode != http.StatusOK {
		t.Errorf("trusted: X-Forwarded-Proto: https from the proxy in front still redirected (%d)", resp.StatusCode)
	}
	if resp, _ := get(trusted, "/office"); resp.StatusCode != http.StatusOK {
		t.Errorf("trusted: the proxy's X-Forwarded-For was not used by ipAllowList (%d)", resp.StatusCode)
	}
}
