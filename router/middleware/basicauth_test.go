package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/ferryproxy/ferry/router/config"
)

func TestMD5Crypt(t *testing.T) {
	// Vectors from `openssl passwd -apr1 -salt saltsalt secret` and `openssl passwd -1 -salt abcdefgh hunter2`.
	tests := []struct{ password, salt, magic, want string }{
		{"secret", "saltsalt", "$apr1$", "$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"},
		{"hunter2", "abcdefgh", "$1$", "$1$abcdefgh$vhxKZ/s1ygZHyCEDPyqtQ/"},
	}
	for _, tt := range tests {
		t.Run(tt.magic+tt.password, func(t *testing.T) {
			if got := string(md5Crypt([]byte(tt.password), []byte(tt.salt), []byte(tt.magic))); got != tt.want {
				t.Errorf("md5Crypt = %s, want %s", got, tt.want)
			}
		})
	}
}

func bcryptLine(t testing.TB, user, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h)
}

func TestParseHtpasswdLine(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
	}{
		{"alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", ""},
		{"bob:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0", ""},
		{"carol:$1$abcdefgh$vhxKZ/s1ygZHyCEDPyqtQ/", ""},
		{"alice", `want "user:hash"`},
		{":{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", `want "user:hash"`},
		{"alice:secret", "unsupported hash"},
		{"alice:{SHA}nope", "invalid {SHA} hash"},
		{"alice:$apr1$saltsalt$short", "invalid apr1 hash"},
		{"alice:$2y$10$tooshort", "invalid bcrypt hash"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, _, err := parseHtpasswdLine(tt.line)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	def := &config.Middleware{BasicAuth: &config.BasicAuth{
		Users: []string{
			bcryptLine(t, "bcrypt", "pw-b"),
			"sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",     // secret
			"apr:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0", // secret
			"md5:$1$abcdefgh$vhxKZ/s1ygZHyCEDPyqtQ/",    // hunter2
		},
		Realm:        "staff",
		HeaderField:  "X-WebAuth-User",
		RemoveHeader: true,
	}}
	h := build(t, def, app)
	tests := []struct {
		name           string
		user, password string
		noAuth         bool
		want           int
	}{
		{name: "no credentials", noAuth: true, want: 401},
		{name: "bcrypt ok", user: "bcrypt", password: "pw-b", want: 200},
		{name: "bcrypt wrong", user: "bcrypt", password: "pw-x", want: 401},
		{name: "sha ok", user: "sha", password: "secret", want: 200},
		{name: "sha wrong", user: "sha", password: "Secret", want: 401},
		{name: "apr1 ok", user: "apr", password: "secret", want: 200},
		{name: "apr1 wrong", user: "apr", password: "secre", want: 401},
		{name: "md5 ok", user: "md5", password: "hunter2", want: 200},
		{name: "unknown user", user: "mallory", password: "secret", want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if !tt.noAuth {
				req.SetBasicAuth(tt.user, tt.password)
			}
			rec := do(h, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 {
				if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="staff"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				return
			}
			s := decodeSeen(t, rec)
			if got := s.Header.Get("X-WebAuth-User"); got != tt.user {
				t.Errorf("X-WebAuth-User %q, want %q", got, tt.user)
			}
			if got := s.Header.Get("Authorization"); got != "" {
				t.Errorf("Authorization forwarded despite removeHeader: %q", got)
			}
		})
	}
}

func TestBasicAuthUsersFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "htpasswd")
	content := "# staff\n\nsha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file wins over users for the same name.
	h := build(t, &config.Middleware{BasicAuth: &config.BasicAuth{
		Users:     []string{"sha:{SHA}" + "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		UsersFile: file,
	}}, app)
	req := httptest.NewRequest("GET", "/", nil)
	req.SetBasicAuth("sha", "secret")
	if rec := do(h, req); rec.Code != 200 {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if got := do(h, httptest.NewRequest("GET", "/", nil)).Header().Get("WWW-Authenticate"); got != `Basic realm="ferry"` {
		t.Errorf("default realm: WWW-Authenticate %q", got)
	}

	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("ok:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		c    *config.BasicAuth
		want string
	}{
		{"missing file", &config.BasicAuth{UsersFile: filepath.Join(dir, "nope")}, "basicAuth.usersFile: "},
		{"bad file line", &config.BasicAuth{UsersFile: bad}, "basicAuth.usersFile: " + bad + ":2: "},
		{"bad users line", &config.BasicAuth{Users: []string{"a:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "b:plain"}}, "basicAuth.users[1]: "},
		{"no users", &config.BasicAuth{}, "basicAuth.users: no users"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&config.Middleware{BasicAuth: tt.c}, Options{Log: zap.NewNop()})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// TestBasicAuthSlowHashLimit shows that a known user whose password was
// verified once passes without a bcrypt run even when every bcrypt slot is
// taken, that others queue for a slot, and that a full queue answers 429.
func TestBasicAuthSlowHashLimit(t *testing.T) {
	a, err := buildBasicAuth(&config.BasicAuth{Users: []string{bcryptLine(t, "u", "good")}}, Options{Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, app) })
	req := func(ctx context.Context, password string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		r.SetBasicAuth("u", password)
		return r
	}
	if rec := do(h, req(context.Background(), "good")); rec.Code != 200 {
		t.Fatalf("first login: status %d", rec.Code)
	}
	for i := 0; i < cap(a.slots); i++ { // every slot busy
		a.slots <- struct{}{}
	}
	if rec := do(h, req(context.Background(), "good")); rec.Code != 200 {
		t.Fatalf("cached login while slots are busy: status %d, want 200", rec.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := do(h, req(ctx, "guess"))
	if rec.Code != 200 || rec.Body.Len() != 0 || ctx.Err() == nil {
		t.Fatalf("uncached guess while slots are busy: want it queued until the client left, got %d %q", rec.Code, rec.Body.String())
	}
	a.waiters.Store(maxHashWaiters)
	rec = do(h, req(context.Background(), "guess"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("full queue: status %d Retry-After %q, want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestBasicAuthCacheBounded(t *testing.T) {
	a, err := buildBasicAuth(&config.BasicAuth{Users: []string{"u:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"}}, Options{Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	a.cacheSize = 16
	cred := a.users["u"]
	r := httptest.NewRequest("GET", "/", nil)
	for i := 0; i < a.cacheSize+10; i++ {
		// Force distinct cache entries: the same (good) password with a different key each time.
		a.cacheKey[0] = byte(i)
		a.cacheKey[1] = byte(i >> 8)
		if res := a.check(r, "u", "secret", &cred, true); res != checkOK {
			t.Fatalf("check %d: %v", i, res)
		}
	}
	if n := len(a.cache); n != a.cacheSize {
		t.Fatalf("cache holds %d entries, want the bound %d", n, a.cacheSize)
	}
}
