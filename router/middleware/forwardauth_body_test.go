package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// bodyAuth is an auth server that remembers the method and body it got, and
// denies with a page of the asked size (query deny=<n>, chunked with chunked=1).
type bodyAuth struct {
	mu     sync.Mutex
	calls  int
	method string
	body   string
}

func (s *bodyAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.calls++
	s.method, s.body = r.Method, string(b)
	s.mu.Unlock()
	if n, err := strconv.Atoi(r.Header.Get("X-Deny")); err == nil {
		page := strings.Repeat("x", n)
		if r.Header.Get("X-Chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Header().Set("X-Login", "yes")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, page)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *bodyAuth) last() (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.method, s.body
}

// echoBody answers the body the application received.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_, _ = w.Write(b)
})

func TestForwardAuthBody(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name       string
		c          config.ForwardAuth
		method     string
		body       string
		deny       string // X-Deny: size of the denial page
		chunked    bool
		status     int
		authMethod string // "" when the auth server must not be asked
		authBody   string
		appBody    string
		respBody   int // bytes of the denial page the client gets, -1: cut
	}{
		{name: "body not forwarded by default", method: "POST", body: "hello", status: 200, authMethod: "GET", authBody: "", appBody: "hello"},
		{name: "forwardBody", c: config.ForwardAuth{ForwardBody: true}, method: "POST", body: "hello", status: 200,
			authMethod: "GET", authBody: "hello", appBody: "hello"},
		{name: "preserveRequestMethod", c: config.ForwardAuth{ForwardBody: true, PreserveRequestMethod: true}, method: "PUT", body: "hi",
			status: 200, authMethod: "PUT", authBody: "hi", appBody: "hi"},
		{name: "body at maxBodySize", c: config.ForwardAuth{ForwardBody: true, MaxBodySize: i64(5)}, method: "POST", body: "hello",
			status: 200, authMethod: "GET", authBody: "hello", appBody: "hello"},
		{name: "body over maxBodySize", c: config.ForwardAuth{ForwardBody: true, MaxBodySize: i64(4)}, method: "POST", body: "hello",
			status: 413},
		{name: "chunked body over maxBodySize", c: config.ForwardAuth{ForwardBody: true, MaxBodySize: i64(4)}, method: "POST", body: "hello",
			chunked: true, status: 413},
		{name: "denial page passed", c: config.ForwardAuth{MaxResponseBodySize: i64(100)}, method: "GET", deny: "100",
			status: 403, authMethod: "GET", respBody: 100},
		{name: "denial page announced too large", c: config.ForwardAuth{MaxResponseBodySize: i64(100)}, method: "GET", deny: "101",
			status: 401, authMethod: "GET", respBody: len("Unauthorized\n")},
		{name: "chunked denial page too large: cut", c: config.ForwardAuth{MaxResponseBodySize: i64(100)}, method: "GET", deny: "5000",
			chunked: true, status: 403, authMethod: "GET", respBody: -1},
		{name: "no limit", c: config.ForwardAuth{MaxResponseBodySize: i64(-1)}, method: "GET", deny: "3000000",
			chunked: true, status: 403, authMethod: "GET", respBody: 3000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := &bodyAuth{}
			as := httptest.NewServer(auth)
			defer as.Close()
			c := tt.c
			c.Address = as.URL
			front := httptest.NewServer(build(t, &config.Middleware{ForwardAuth: &c}, echoBody))
			defer front.Close()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // no length: sent chunked
				}
			}
			req, _ := http.NewRequest(tt.method, front.URL+"/x", body)
			if tt.deny != "" {
				req.Header.Set("X-Deny", tt.deny)
				if tt.chunked {
					req.Header.Set("X-Chunked", "1")
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil && tt.respBody < 0 {
				return // cut before the headers left: the client sees the answer fail, as it should
			}
			if err != nil {
				t.Fatal(err)
			}
			got, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			calls, method, authBody := auth.last()
			if tt.authMethod == "" {
				if calls != 0 {
					t.Fatalf("the auth server was asked (%s %q)", method, authBody)
				}
			} else if method != tt.authMethod || authBody != tt.authBody {
				t.Fatalf("auth server got %s %q, want %s %q", method, authBody, tt.authMethod, tt.authBody)
			}
			if tt.status == 200 && string(got) != tt.appBody {
				t.Fatalf("the application got %q, want %q", got, tt.appBody)
			}
			switch {
			case tt.respBody < 0:
				if readErr == nil {
					t.Fatalf("a denial page over the limit arrived whole (%d bytes), want the answer cut", len(got))
				}
			case tt.deny != "" && (readErr != nil || len(got) != tt.respBody):
				t.Fatalf("denial page: %d bytes (err %v), want %d", len(got), readErr, tt.respBody)
			}
			if tt.status == 401 && resp.Header.Get("X-Login") != "" {
				t.Fatalf("a replaced denial kept the auth server's headers")
			}
		})
	}
}
