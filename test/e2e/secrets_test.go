package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// indentLines indents every line of s by n spaces, for a YAML block scalar.
func indentLines(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

// apiRaw returns the body of an API path.
func (f *Ferry) apiRaw(path string) string {
	f.t.Helper()
	resp, err := f.client.Get("http://" + f.API + path)
	if err != nil {
		f.t.Fatalf("API GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("API GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	return string(body)
}

// TestSecretsNeverShown serves a configuration holding an inline private
// key, a bearer token and an API key set by a headers middleware and a
// password in a server URL, plus disabled objects whose problems quote
// such values: the secrets work (the backend gets them), and neither the
// API nor Ferry's log shows any of them.
func TestSecretsNeverShown(t *testing.T) {
	be := StartBackend(t, "app", nil)
	_, certPath, keyPath := selfSigned(t, t.TempDir(), "secret.test")
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	keyLine := strings.Split(string(keyPEM), "\n")[1] // the first line of the key's base64
	const (
		bearer      = "tok-e2e-7f3a9"
		apiKey      = "key-e2e-51c2d"
		urlPassword = "pw-e2e-88b1e"
		badPassword = "pw-e2e-disabled-2c9"
		authPass    = "pw-e2e-auth-6d0"
	)
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    app:
      rule: Host('secret.test')
      service: app
      middlewares: [creds]
    broken:
      rule: Host('broken.test')
      service: bad
      middlewares: [badsso]
  services:
    app:
      loadBalancer:
        servers:
          - url: http://admin:%[2]s@%[1]s
    bad:
      loadBalancer:
        servers:
          - url: http://admin:%[3]s@127.0.0.1:80x
  middlewares:
    creds:
      headers:
        customRequestHeaders:
          Authorization: Bearer %[4]s
          X-Api-Key: %[5]s
          X-Env: prod
    badsso:
      forwardAuth:
        address: ftp://svc:%[6]s@127.0.0.1/verify
tls:
  certificates:
    - certFile: |
%[7]s
      keyFile: |
%[8]s
`, be.Addr, urlPassword, badPassword, bearer, apiKey, authPass, indentLines(string(certPEM), 10), indentLines(string(keyPEM), 10))})
	secrets := []string{keyLine, bearer, apiKey, urlPassword, badPassword, authPass}

	// The secrets are in use: the backend gets the header values.
	f.WaitRoute("secret.test", "/", http.StatusOK, "app")
	echoed := f.Get("secret.test", "/").Echo
	if echoed.Header("Authorization") != "Bearer "+bearer || echoed.Header("X-Api-Key") != apiKey {
		t.Fatalf("the backend did not get the configured headers: %v", echoed.Headers)
	}

	for _, path := range []string{"/api/rawdata", "/api/http/routers", "/api/http/services", "/api/http/middlewares",
		"/api/http/services/app@file", "/api/http/services/bad@file", "/api/http/middlewares/creds@file",
		"/api/http/middlewares/badsso@file", "/api/http/routers/broken@file"} {
		body := f.apiRaw(path)
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows the secret %q:\n%s", path, s, body)
			}
		}
	}
	var raw struct {
		TLS struct {
			Certificates []struct {
				CertFile string `json:"certFile"`
				KeyFile  string `json:"keyFile"`
			} `json:"certificates"`
		} `json:"tls"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `json:"url"`
				} `json:"servers"`
			} `json:"loadBalancer"`
		} `json:"services"`
		Middlewares map[string]struct {
			Headers struct {
				CustomRequestHeaders map[string]string `json:"customRequestHeaders"`
			} `json:"headers"`
		} `json:"middlewares"`
		Problems []struct {
			Kind    string `json:"kind"`
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(f.apiRaw("/api/rawdata")), &raw); err != nil {
		t.Fatal(err)
	}
	if c := raw.TLS.Certificates; len(c) != 1 || c[0].KeyFile != "<redacted>" || !strings.Contains(c[0].CertFile, "BEGIN CERTIFICATE") {
		t.Errorf("tls.certificates = %+v, want the certificate shown and its key redacted", c)
	}
	if got := raw.Services["app@file"].LoadBalancer.Servers; len(got) != 1 || got[0].URL != "http://admin:<redacted>@"+be.Addr {
		t.Errorf("server URL shown as %+v", got)
	}
	if h := raw.Middlewares["creds@file"].Headers.CustomRequestHeaders; h["Authorization"] != "<redacted>" ||
		h["X-Api-Key"] != "<redacted>" || h["X-Env"] != "prod" {
		t.Errorf("customRequestHeaders shown as %v", h)
	}
	disabled := map[string]bool{}
	for _, p := range raw.Problems {
		disabled[p.Kind+" "+p.Name] = true
		if p.Kind == "certificate" {
			t.Errorf("the inline certificate did not load: %s", p.Message)
		}
	}
	for _, want := range []string{"service bad@file", "middleware badsso@file", "router broken@file"} {
		if !disabled[want] {
			t.Errorf("%s not disabled; problems: %+v", want, raw.Problems)
		}
	}

	// Ferry's log names the disabled objects, and shows no secret.
	f.WaitLog(0, "about the disabled service", func(l string) bool {
		return strings.Contains(l, "configuration object disabled") && strings.Contains(l, "bad@file")
	})
	f.WaitLog(0, "about the disabled middleware", func(l string) bool {
		return strings.Contains(l, "configuration object disabled") && strings.Contains(l, "badsso@file")
	})
	logs := f.Logs()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("Ferry's log shows the secret %q", s)
		}
	}
	if !strings.Contains(logs, "<redacted>") {
		t.Errorf("no redacted value in the log, though problems quote the URLs:\n%s", tail(logs, 4000))
	}
}
