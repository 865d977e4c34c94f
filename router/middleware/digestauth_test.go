package middleware

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// htdigest returns the line Apache's htdigest writes (MD5), or the SHA-256
// variant.
func htdigest(user, realm, password string, sha bool) string {
	in := []byte(user + ":" + realm + ":" + password)
	if sha {
		s := sha256.Sum256(in)
		return user + ":" + realm + ":" + hex.EncodeToString(s[:])
	}
	s := md5.Sum(in)
	return user + ":" + realm + ":" + hex.EncodeToString(s[:])
}

// challenge is one parsed WWW-Authenticate: Digest value.
type challenge struct {
	realm, nonce, opaque, algorithm string
	stale                           bool
}

func parseChallenges(t *testing.T, h http.Header) []challenge {
	t.Helper()
	var out []challenge
	for _, v := range h.Values("Www-Authenticate") {
		if !strings.HasPrefix(v, "Digest ") {
			t.Fatalf("challenge %q is not Digest", v)
		}
		c := challenge{}
		for _, part := range strings.Split(v[len("Digest "):], ", ") {
			k, val, _ := strings.Cut(part, "=")
			val = strings.Trim(val, `"`)
			switch k {
			case "realm":
				c.realm = val
			case "nonce":
				c.nonce = val
			case "opaque":
				c.opaque = val
			case "algorithm":
				c.algorithm = val
			case "stale":
				c.stale = val == "true"
			}
		}
		out = append(out, c)
	}
	return out
}

// digestClient answers challenges as RFC 7616 clients do.
type digestClient struct {
	user, password, method, uri string
	algorithm                   string // as sent; "" for none (MD5)
	cnonce                      string
}

func (c digestClient) header(ch challenge, nc int) string {
	alg := c.algorithm
	sha := strings.HasPrefix(strings.ToUpper(alg), "SHA-256")
	h := func(s string) string {
		if sha {
			x := sha256.Sum256([]byte(s))
			return hex.EncodeToString(x[:])
		}
		x := md5.Sum([]byte(s))
		return hex.EncodeToString(x[:])
	}
	ncs := fmt.Sprintf("%08x", nc)
	ha1 := h(c.user + ":" + ch.realm + ":" + c.password)
	if strings.HasSuffix(strings.ToLower(alg), "-sess") {
		ha1 = h(ha1 + ":" + ch.nonce + ":" + c.cnonce)
	}
	resp := h(ha1 + ":" + ch.nonce + ":" + ncs + ":" + c.cnonce + ":auth:" + h(c.method+":"+c.uri))
	out := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", qop=auth, nc=%s, cnonce="%s", response="%s", opaque="%s"`,
		c.user, ch.realm, ch.nonce, c.uri, ncs, c.cnonce, resp, ch.opaque)
	if alg != "" {
		out += ", algorithm=" + alg
	}
	return out
}

func newDigest(t testing.TB, c *config.DigestAuth) *digestAuth {
	t.Helper()
	a, err := buildDigestAuth(c, Options{Log: zap.NewNop()})
	if err != nil {
		t.Fatalf("buildDigestAuth: %v", err)
	}
	return a
}

// challengeOf gets the challenges of an unauthenticated request.
func challengeOf(t *testing.T, h http.Handler) []challenge {
	t.Helper()
	rec := do(h, httptest.NewRequest("GET", "http://app.test/private?x=1", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no credentials: status %d, want 401", rec.Code)
	}
	return parseChallenges(t, rec.Header())
}

func TestDigestAuth(t *testing.T) {
	users := []string{htdigest("alice", "staff", "wonderland", false), htdigest("bob", "staff", "builder", true),
		htdigest("bob", "staff", "builder", false)}
	a := newDigest(t, &config.DigestAuth{Users: users, HeaderField: "X-User", RemoveHeader: true})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, app) })
	chs := challengeOf(t, h)
	if len(chs) != 2 || chs[0].algorithm != "SHA-256" || chs[1].algorithm != "MD5" || chs[0].realm != "staff" || chs[0].stale {
		t.Fatalf("challenges = %+v, want SHA-256 then MD5 in realm staff (the users' realm)", chs)
	}
	tests := []struct {
		name   string
		client digestClient
		mutate func(string) string
		want   int
		stale  bool
	}{
		{name: "MD5", client: digestClient{user: "alice", password: "wonderland", algorithm: "MD5"}, want: 200},
		{name: "no algorithm means MD5", client: digestClient{user: "alice", password: "wonderland"}, want: 200},
		{name: "SHA-256", client: digestClient{user: "bob", password: "builder", algorithm: "SHA-256"}, want: 200},
		{name: "MD5-sess", client: digestClient{user: "bob", password: "builder", algorithm: "MD5-sess"}, want: 200},
		{name: "SHA-256-sess", client: digestClient{user: "bob", password: "builder", algorithm: "SHA-256-sess"}, want: 200},
		{name: "user without a SHA-256 hash", client: digestClient{user: "alice", password: "wonderland", algorithm: "SHA-256"}, want: 401},
		{name: "wrong password", client: digestClient{user: "alice", password: "Wonderland", algorithm: "MD5"}, want: 401},
		{name: "unknown user", client: digestClient{user: "mallory", password: "wonderland", algorithm: "MD5"}, want: 401},
		{name: "unknown algorithm", client: digestClient{user: "alice", password: "wonderland", algorithm: "SHA-512"}, want: 401},
		{name: "uri of another resource", client: digestClient{user: "alice", password: "wonderland", uri: "/other"}, want: 401},
		{name: "forged nonce", client: digestClient{user: "alice", password: "wonderland"}, want: 401,
			mutate: func(h string) string { return strings.Replace(h, `nonce="A`, `nonce="B`, 1) }},
		{name: "wrong opaque", client: digestClient{user: "alice", password: "wonderland"}, want: 401,
			mutate: func(h string) string { return strings.Replace(h, `opaque="`, `opaque="0`, 1) }},
		{name: "qop missing", client: digestClient{user: "alice", password: "wonderland"}, want: 401,
			mutate: func(h string) string { return strings.Replace(h, `qop=auth, `, ``, 1) }},
		{name: "basic credentials", client: digestClient{user: "alice", password: "wonderland"}, want: 401,
			mutate: func(string) string { return "Basic YWxpY2U6d29uZGVybGFuZA==" }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := challengeOf(t, h)[1]
			if tt.name == "forged nonce" {
				ch.nonce = "A" + ch.nonce[1:]
			}
			c := tt.client
			c.method, c.cnonce = "GET", fmt.Sprintf("c%d", i)
			if c.uri == "" {
				c.uri = "/private?x=1"
			}
			hdr := c.header(ch, 1)
			if tt.mutate != nil {
				hdr = tt.mutate(hdr)
			}
			req := httptest.NewRequest("GET", "http://app.test/private?x=1", nil)
			req.Header.Set("Authorization", hdr)
			rec := do(h, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 200 {
				s := decodeSeen(t, rec)
				if s.Header.Get("X-User") != c.user || s.Header.Get("Authorization") != "" {
					t.Fatalf("app saw X-User %q and Authorization %q; want %q and none", s.Header.Get("X-User"), s.Header.Get("Authorization"), c.user)
				}
				return
			}
			for _, ch := range parseChallenges(t, rec.Header()) {
				if ch.stale != tt.stale {
					t.Fatalf("stale = %v, want %v", ch.stale, tt.stale)
				}
			}
		})
	}
}

// TestDigestNonceCounts: a nonce is reused with growing counts, in any
// order within a window; a count seen before (a replay) or too old asks
// for a fresh nonce (stale=true), and an expired nonce too.
func TestDigestNonceCounts(t *testing.T) {
	a := newDigest(t, &config.DigestAuth{Users: []string{htdigest("alice", "ferry", "pw", false)}})
	clock := time.Unix(1_700_000_000, 0)
	a.now = func() time.Time { return clock }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, app) })
	ch := challengeOf(t, h)[0]
	c := digestClient{user: "alice", password: "pw", method: "GET", uri: "/private?x=1", cnonce: "abc"}
	send := func(nc int) (int, bool) {
		req := httptest.NewRequest("GET", "http://app.test/private?x=1", nil)
		req.Header.Set("Authorization", c.header(ch, nc))
		rec := do(h, req)
		stale := false
		if rec.Code == 401 {
			stale = parseChallenges(t, rec.Header())[0].stale
		}
		return rec.Code, stale
	}
	steps := []struct {
		nc    int
		want  int
		stale bool
	}{
		{1, 200, false}, {3, 200, false}, {2, 200, false}, // out of order, within the window
		{2, 401, true}, {1, 401, true}, // replays
		{100, 200, false}, {30, 401, true}, // 70 behind: outside the window
		{99, 200, false},
	}
	for _, s := range steps {
		if code, stale := send(s.nc); code != s.want || stale != s.stale {
			t.Fatalf("nc=%d: status %d stale %v, want %d stale %v", s.nc, code, stale, s.want, s.stale)
		}
	}
	clock = clock.Add(nonceLifetime + time.Second)
	if code, stale := send(101); code != 401 || !stale {
		t.Fatalf("expired nonce: status %d stale %v, want 401 stale", code, stale)
	}
	// A nonce of another instance (before a reload, another replica):
	// right credentials are told to retry, wrong ones are not.
	other := newDigest(t, &config.DigestAuth{Users: []string{htdigest("alice", "ferry", "pw", false)}})
	foreign := challengeOf(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.serve(w, r, app) }))[0]
	foreign.opaque = ch.opaque
	ch = foreign
	if code, stale := send(1); code != 401 || !stale {
		t.Fatalf("another instance's nonce: status %d stale %v, want 401 stale", code, stale)
	}
	c.password = "wrong"
	if code, stale := send(2); code != 401 || stale {
		t.Fatalf("another instance's nonce, wrong password: status %d stale %v, want 401 not stale", code, stale)
	}
	ch = challengeOf(t, h)[0]
	clock = clock.Add(nonceLifetime + time.Second)
	if code, stale := send(1); code != 401 || stale {
		t.Fatalf("expired nonce, wrong password: status %d stale %v, want 401 not stale", code, stale)
	}
}

// TestDigestNonceLimit: when every remembered nonce is in use, they all
// become stale, so none can be replayed once forgotten.
func TestDigestNonceLimit(t *testing.T) {
	a := newDigest(t, &config.DigestAuth{Users: []string{htdigest("alice", "ferry", "pw", false)}})
	a.limit = 3
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, app) })
	c := digestClient{user: "alice", password: "pw", method: "GET", uri: "/private?x=1", cnonce: "abc"}
	var first challenge
	for i := range 4 {
		ch := challengeOf(t, h)[0]
		if i == 0 {
			first = ch
		}
		req := httptest.NewRequest("GET", "http://app.test/private?x=1", nil)
		req.Header.Set("Authorization", c.header(ch, 1))
		if rec := do(h, req); rec.Code != 200 {
			t.Fatalf("nonce %d: status %d", i, rec.Code)
		}
	}
	req := httptest.NewRequest("GET", "http://app.test/private?x=1", nil)
	req.Header.Set("Authorization", c.header(first, 1))
	if rec := do(h, req); rec.Code != 401 || !parseChallenges(t, rec.Header())[0].stale {
		t.Fatalf("replay of a forgotten nonce: status %d, want 401 stale", rec.Code)
	}
}

func TestDigestAuthConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "htdigest")
	content := "# users\n" + htdigest("carol", "ops", "x", false) + "\n\n" + htdigest("dave", "other", "y", false) + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("carol:ops:nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	md5Line := htdigest("alice", "staff", "pw", false)
	tests := []struct {
		name      string
		c         config.DigestAuth
		wantErr   string
		wantRealm string
		wantUsers int
	}{
		{name: "realm from the users", c: config.DigestAuth{Users: []string{md5Line}}, wantRealm: "staff", wantUsers: 1},
		{name: "file: other realms skipped", c: config.DigestAuth{UsersFile: file, Realm: "ops"}, wantRealm: "ops", wantUsers: 1},
		{name: "file with several realms", c: config.DigestAuth{UsersFile: file}, wantErr: "digestAuth.realm: the users are in 2 realms"},
		{name: "user in another realm", c: config.DigestAuth{Users: []string{md5Line}, Realm: "ops"}, wantErr: `digestAuth.users[0]: user "alice" is in realm "staff", not "ops"`},
		{name: "bad line", c: config.DigestAuth{Users: []string{"alice:staff:xyz"}}, wantErr: "digestAuth.users[0]: user \"alice\": want the hex MD5"},
		{name: "no realm part", c: config.DigestAuth{Users: []string{"alice:0123"}}, wantErr: "digestAuth.users[0]: invalid htdigest line"},
		{name: "missing file", c: config.DigestAuth{UsersFile: filepath.Join(dir, "nope")}, wantErr: "digestAuth.usersFile: open "},
		{name: "bad file line", c: config.DigestAuth{UsersFile: bad}, wantErr: "digestAuth.usersFile: " + bad + ":1: "},
		{name: "no users", c: config.DigestAuth{UsersFile: file, Realm: "nobody"}, wantErr: `digestAuth.users: no user in realm "nobody"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := buildDigestAuth(&tt.c, Options{Log: zap.NewNop()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.realm != tt.wantRealm || len(a.users) != tt.wantUsers {
				t.Fatalf("realm %q, %d users; want %q, %d", a.realm, len(a.users), tt.wantRealm, tt.wantUsers)
			}
		})
	}
}

func TestParseDigestParams(t *testing.T) {
	p, ok := parseDigestParams(`username="Mufasa", REALM="a \"b\"", nonce=abc,uri="/dir/index.html", qop=auth, nc=00000001, unknown="x,y", cnonce="0a4f"`)
	if !ok || p.username != "Mufasa" || p.realm != `a "b"` || p.nonce != "abc" || p.uri != "/dir/index.html" ||
		p.qop != "auth" || p.nc != "00000001" || p.cnonce != "0a4f" {
		t.Fatalf("parse = %+v, %v", p, ok)
	}
	for _, bad := range []string{`username="x`, `username="a", username="b"`, `=x`, `username="a\`} {
		if _, ok := parseDigestParams(bad); ok {
			t.Errorf("parseDigestParams(%q) accepted", bad)
		}
	}
}

// BenchmarkDigestAuth is the cost of an authorised request: parsing the
// header, checking the nonce's MAC, two hashes and the replay window.
func BenchmarkDigestAuth(b *testing.B) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		b.Run(alg, func(b *testing.B) {
			a := newDigest(b, &config.DigestAuth{Users: []string{htdigest("u", "ferry", "secret", alg == "SHA-256")}})
			req := httptest.NewRequest("GET", "http://app.test/api/users", nil)
			w := &discard{h: make(http.Header)}
			a.deny(w, false)
			ch := parseChallenges(&testing.T{}, w.h)[0]
			c := digestClient{user: "u", password: "secret", method: "GET", uri: "/api/users", algorithm: alg, cnonce: "0a4f113b"}
			const n = 4096
			headers := make([][]string, n)
			for i := range headers {
				headers[i] = []string{c.header(ch, i+1)}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == n {
					clear(a.seen) // the counts start again: forget them, outside what a request costs on average
					i = 0
				}
				req.Header["Authorization"] = headers[i]
				i++
				clear(w.h)
				a.serve(w, req, okApp)
			}
		})
	}
}

// FuzzDigestAuthorization sends any Authorization: Digest value, as a
// hostile client would: the middleware never panics and never lets a
// request through without the password (a fresh nonce is not known to the
// fuzzer), and answers 400 or 401.
func FuzzDigestAuthorization(f *testing.F) {
	for _, s := range []string{
		`username="alice", realm="ferry", nonce="x", uri="/private", response="0123", qop=auth, nc=00000001, cnonce="c"`,
		`username="al\"ice", realm="ferry", nonce="`, `username=, =x,,,`, `username*=UTF-8''%C3%A4, userhash=true`,
		`algorithm=SHA-256-sess, response="` + strings.Repeat("a", 64) + `"`, `,,,,`, `"`, `a="\`,
	} {
		f.Add(s)
	}
	a := newDigest(f, &config.DigestAuth{Users: []string{htdigest("alice", "ferry", "pw", false)}})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "http://app.test/private", nil)
		r.Header.Set("Authorization", "Digest "+v)
		rec := httptest.NewRecorder()
		a.serve(rec, r, next)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
			t.Fatalf("Authorization: Digest %q: status %d, want 400 or 401", v, rec.Code)
		}
	})
}
