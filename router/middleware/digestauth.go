package middleware

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

const (
	// nonceLifetime is how long a nonce is accepted; a client presenting
	// an older one with the right credentials is told stale=true and
	// retries with a fresh nonce without asking its user again.
	nonceLifetime = 5 * time.Minute
	// maxNonces bounds the nonces whose request counts are remembered.
	// Only authenticated requests add one; when they are all taken, every
	// nonce in use becomes stale at once and clients move to fresh ones.
	maxNonces = 1 << 16
	// nonceLen is the raw nonce: issue time, random bytes, MAC.
	nonceLen = 8 + 8 + 16
)

// digestUser holds a user's hashes of user:realm:password (hex, lower
// case); nil when the user has none for the algorithm.
type digestUser struct {
	md5, sha256 []byte
}

// digestAuth checks HTTP digest credentials (RFC 7616, qop=auth, MD5 and
// SHA-256 and their -sess variants). Nonces are self-verifying: an issue
// time and random bytes under an HMAC with a per-instance key, so nothing
// is stored for a challenge; the request counts (nc) of nonces in use are
// remembered to refuse replays, within a window of 64 so that requests a
// browser sends in parallel may arrive out of order.
type digestAuth struct {
	realm        string
	users        map[string]digestUser
	decoy        digestUser
	algorithms   []string // advertised, preferred first
	opaque       string
	key          []byte
	headerField  string
	removeHeader bool
	log          *zap.Logger
	now          func() time.Time
	macs         sync.Pool // of HMAC-SHA256 keyed by key

	mu    sync.Mutex
	seen  map[[nonceLen]byte]*ncWindow
	limit int   // maxNonces
	floor int64 // nonces issued at or before this time (unix ns) are stale
}

// ncWindow remembers the request counts seen with one nonce.
type ncWindow struct {
	issued int64
	max    uint64
	bits   uint64 // bit i: max-i was seen
}

// accept records nc, reporting false for a count seen before or too old.
func (w *ncWindow) accept(nc uint64) bool {
	switch {
	case nc == 0:
		return false
	case nc > w.max:
		if shift := nc - w.max; shift >= 64 {
			w.bits = 0
		} else {
			w.bits <<= shift
		}
		w.bits |= 1
		w.max = nc
		return true
	}
	off := w.max - nc
	if off >= 64 || w.bits&(1<<off) != 0 {
		return false
	}
	w.bits |= 1 << off
	return true
}

func newDigestAuth(c *config.DigestAuth, opts Options) (Wrapper, error) {
	a, err := buildDigestAuth(c, opts)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, next) })
	}, nil
}

func buildDigestAuth(c *config.DigestAuth, opts Options) (*digestAuth, error) {
	var lines []config.DigestLine
	for i, s := range c.Users {
		l, err := config.ParseDigestLine(s)
		if err != nil {
			return nil, fmt.Errorf("digestAuth.users[%d]: %w", i, err)
		}
		lines = append(lines, l)
	}
	inline := len(lines)
	if c.UsersFile != "" {
		fromFile, err := readHtdigestFile(c.UsersFile)
		if err != nil {
			return nil, fmt.Errorf("digestAuth.usersFile: %w", err)
		}
		lines = append(lines, fromFile...)
	}
	realm := c.Realm
	if realm == "" {
		realms := map[string]bool{}
		for _, l := range lines {
			realms[l.Realm] = true
		}
		if len(realms) > 1 {
			return nil, fmt.Errorf("digestAuth.realm: the users are in %d realms; set realm", len(realms))
		}
		for r := range realms {
			realm = r
		}
	}
	a := &digestAuth{realm: realm, users: map[string]digestUser{}, headerField: http.CanonicalHeaderKey(c.HeaderField),
		removeHeader: c.RemoveHeader, log: opts.Log, now: time.Now, seen: map[[nonceLen]byte]*ncWindow{}, limit: maxNonces}
	var anyMD5, anySHA bool
	for i, l := range lines {
		if l.Realm != realm {
			if i < inline {
				return nil, fmt.Errorf("digestAuth.users[%d]: user %q is in realm %q, not %q", i, l.User, l.Realm, realm)
			}
			continue // a file may hold other realms
		}
		u := a.users[l.User]
		if l.SHA256 {
			u.sha256, anySHA = []byte(l.Hash), true
		} else {
			u.md5, anyMD5 = []byte(l.Hash), true
		}
		a.users[l.User] = u
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("digestAuth.users: no user in realm %q", realm)
	}
	if anySHA {
		a.algorithms = append(a.algorithms, "SHA-256")
	}
	if anyMD5 {
		a.algorithms = append(a.algorithms, "MD5")
	}
	a.decoy = a.users[sortedKeys(a.users)[0]]
	a.key = make([]byte, 32)
	opaque := make([]byte, 12)
	_, _ = rand.Read(a.key)
	_, _ = rand.Read(opaque)
	a.macs.New = func() any { return hmac.New(sha256.New, a.key) }
	a.opaque = hex.EncodeToString(opaque)
	return a, nil
}

// readHtdigestFile returns the lines of an htdigest file, skipping blank
// lines and # comments; errors name the file and line.
func readHtdigestFile(path string) ([]config.DigestLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []config.DigestLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		l, err := config.ParseDigestLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// digestOutcome is why a request was let through or refused.
type digestOutcome uint8

const (
	digestOK digestOutcome = iota
	digestDenied
	digestStale // right credentials, but a nonce to renew
)

func (a *digestAuth) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	user, outcome := a.check(r)
	if outcome != digestOK {
		if ce := a.log.Check(zap.DebugLevel, "digest auth failed"); ce != nil {
			ce.Write(zap.String("user", user), zap.String("remote", r.RemoteAddr), zap.Bool("stale", outcome == digestStale))
		}
		a.deny(w, outcome == digestStale)
		return
	}
	if a.headerField != "" {
		r.Header[a.headerField] = []string{user}
	}
	if a.removeHeader {
		delete(r.Header, "Authorization")
	}
	next.ServeHTTP(w, r)
}

// check verifies the request's credentials and returns the user.
func (a *digestAuth) check(r *http.Request) (string, digestOutcome) {
	v := r.Header["Authorization"]
	if len(v) != 1 || len(v[0]) < 7 || !strings.EqualFold(v[0][:7], "Digest ") {
		return "", digestDenied
	}
	p, ok := parseDigestParams(v[0][7:])
	if !ok || p.username == "" || p.realm != a.realm || p.opaque != a.opaque || p.qop != "auth" ||
		p.cnonce == "" || len(p.nc) != 8 || strings.EqualFold(p.userhash, "true") {
		return p.username, digestDenied
	}
	if p.uri != r.RequestURI && p.uri != r.URL.RequestURI() {
		return p.username, digestDenied
	}
	nc, ok := parseHex(p.nc)
	if !ok {
		return p.username, digestDenied
	}
	var nonce [nonceLen]byte
	ours := a.decodeNonce(p.nonce, &nonce) // a foreign nonce (another instance's, one before a reload) is stale once the digest checks
	sess := false
	alg := p.algorithm
	if l := len(alg); l > 5 && strings.EqualFold(alg[l-5:], "-sess") {
		sess, alg = true, alg[:l-5]
	}
	u, known := a.users[p.username]
	if !known {
		u = a.decoy // the same work, so that timing does not tell users apart
	}
	var ha1 []byte
	sha := false
	switch {
	case alg == "" || strings.EqualFold(alg, "MD5"):
		ha1 = u.md5
	case strings.EqualFold(alg, "SHA-256"):
		ha1, sha = u.sha256, true
	default:
		return p.username, digestDenied
	}
	if ha1 == nil {
		return p.username, digestDenied
	}
	var buf [512]byte
	var ha1buf, ha2buf, sum [2 * sha256.Size]byte
	if sess {
		in := append(append(append(append(append(buf[:0], ha1...), ':'), p.nonce...), ':'), p.cnonce...)
		ha1 = hexDigest(sha, ha1buf[:0], in)
	}
	ha2 := hexDigest(sha, ha2buf[:0], append(append(append(buf[:0], r.Method...), ':'), p.uri...))
	in := append(append(buf[:0], ha1...), ':')
	for _, part := range [...]string{p.nonce, p.nc, p.cnonce, p.qop} {
		in = append(append(in, part...), ':')
	}
	want := hexDigest(sha, sum[:0], append(in, ha2...))
	if !equalFoldConstantTime(want, p.response) || !known {
		return p.username, digestDenied
	}
	if !ours {
		return p.username, digestStale // RFC 7616: a valid digest for a nonce that is not valid
	}
	issued := int64(binary.BigEndian.Uint64(nonce[:8]))
	if a.now().UnixNano()-issued > int64(nonceLifetime) {
		return p.username, digestStale
	}
	if !a.count(nonce, issued, nc) {
		return p.username, digestStale
	}
	return p.username, digestOK
}

// count records request count nc of a nonce, reporting false when it was
// seen already or the nonce is no longer remembered.
func (a *digestAuth) count(nonce [nonceLen]byte, issued int64, nc uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if issued <= a.floor {
		return false
	}
	win := a.seen[nonce]
	if win == nil {
		if len(a.seen) >= a.limit {
			a.prune()
		}
		win = &ncWindow{issued: issued}
		a.seen[nonce] = win
	}
	return win.accept(nc)
}

// prune forgets expired nonces; when none expired, it forgets them all
// and makes every nonce issued so far stale, so none can be replayed.
func (a *digestAuth) prune() {
	limit := a.now().UnixNano() - int64(nonceLifetime)
	for k, w := range a.seen {
		if w.issued < limit {
			delete(a.seen, k)
		}
	}
	if len(a.seen) >= a.limit {
		clear(a.seen)
		a.floor = a.now().UnixNano()
	}
}

// nonceMAC writes the MAC of a nonce's issue time and random bytes into mac.
func (a *digestAuth) nonceMAC(head, mac []byte) {
	m := a.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(head)
	var sum [sha256.Size]byte
	copy(mac, m.Sum(sum[:0]))
	a.macs.Put(m)
}

// decodeNonce decodes text into n and reports whether it is a nonce this
// instance issued.
func (a *digestAuth) decodeNonce(text string, n *[nonceLen]byte) bool {
	var src [64]byte
	if base64.RawURLEncoding.DecodedLen(len(text)) != nonceLen || len(text) > len(src) {
		return false
	}
	k := copy(src[:], text)
	if m, err := base64.RawURLEncoding.Decode(n[:], src[:k]); err != nil || m != nonceLen {
		return false
	}
	var mac [16]byte
	a.nonceMAC(n[:16], mac[:])
	return hmac.Equal(n[16:], mac[:])
}

// newNonce returns a fresh nonce, base64 (URL alphabet, no padding).
func (a *digestAuth) newNonce() string {
	var n [nonceLen]byte
	binary.BigEndian.PutUint64(n[:8], uint64(a.now().UnixNano()))
	_, _ = rand.Read(n[8:16])
	a.nonceMAC(n[:16], n[16:])
	return base64.RawURLEncoding.EncodeToString(n[:])
}

// deny answers 401 with one challenge per algorithm, SHA-256 first.
func (a *digestAuth) deny(w http.ResponseWriter, stale bool) {
	nonce := a.newNonce()
	challenges := make([]string, 0, len(a.algorithms))
	for _, alg := range a.algorithms {
		var b strings.Builder
		b.WriteString(`Digest realm="`)
		b.WriteString(a.realm)
		b.WriteString(`", qop="auth", algorithm=`)
		b.WriteString(alg)
		b.WriteString(`, nonce="`)
		b.WriteString(nonce)
		b.WriteString(`", opaque="`)
		b.WriteString(a.opaque)
		b.WriteByte('"')
		if stale {
			b.WriteString(", stale=true")
		}
		challenges = append(challenges, b.String())
	}
	w.Header()["Www-Authenticate"] = challenges
	http.Error(w, "Unauthorized", http.StatusUnauthorized)
}

// hexDigest appends to dst the lower-case hex MD5 (or SHA-256) of in.
func hexDigest(sha bool, dst, in []byte) []byte {
	if sha {
		sum := sha256.Sum256(in)
		return hex.AppendEncode(dst, sum[:])
	}
	sum := md5.Sum(in)
	return hex.AppendEncode(dst, sum[:])
}

// equalFoldConstantTime compares a lower-case hex digest with the client's
// (in any case) in time that depends on the length only.
func equalFoldConstantTime(want []byte, got string) bool {
	if len(want) != len(got) {
		return false
	}
	var diff byte
	for i := range want {
		c := got[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		diff |= want[i] ^ c
	}
	return diff == 0
}

// parseHex parses nc, 8 hex digits.
func parseHex(s string) (uint64, bool) {
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	return n, true
}
