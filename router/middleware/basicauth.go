package middleware

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

const (
	// authCacheSize bounds the cache of successful slow verifications.
	authCacheSize = 4096
	// maxHashWaiters bounds the requests queued for a slow verification;
	// beyond it the client gets 429 instead of a place in the queue.
	maxHashWaiters = 256
	defaultRealm   = "ferry"
)

// basicAuth checks HTTP basic credentials against htpasswd entries.
type basicAuth struct {
	users        map[string]credential
	decoy        credential // checked for unknown users
	challenge    string     // the WWW-Authenticate value
	headerField  string
	removeHeader bool
	log          *zap.Logger

	// cache remembers user+password pairs that passed a slow (bcrypt,
	// MD5-crypt) check, keyed by a hash with a per-instance random key, so
	// a known client costs a SHA-256 instead of a bcrypt run.
	cacheKey  []byte
	cacheSize int // authCacheSize
	cacheMu   sync.RWMutex
	cache     map[[sha256.Size]byte]struct{}

	// slots bounds the concurrent slow verifications to half the CPUs: a
	// flood of bad passwords queues here and leaves the rest for serving.
	slots   chan struct{}
	waiters atomic.Int32
}

func newBasicAuth(c *config.BasicAuth, opts Options) (Wrapper, error) {
	a, err := buildBasicAuth(c, opts)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, next) })
	}, nil
}

func buildBasicAuth(c *config.BasicAuth, opts Options) (*basicAuth, error) {
	users := make(map[string]credential, len(c.Users))
	for i, line := range c.Users {
		user, cred, err := parseHtpasswdLine(line)
		if err != nil {
			return nil, fmt.Errorf("basicAuth.users[%d]: %w", i, err)
		}
		users[user] = cred
	}
	if c.UsersFile != "" {
		fromFile, err := readHtpasswdFile(c.UsersFile)
		if err != nil {
			return nil, fmt.Errorf("basicAuth.usersFile: %w", err)
		}
		for u, cred := range fromFile { // the file wins over users
			users[u] = cred
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("basicAuth.users: no users")
	}
	realm := c.Realm
	if realm == "" {
		realm = defaultRealm
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	decoy := users[names[0]]
	for _, u := range names { // prefer a slow hash: it is what a guess at a real user costs
		if users[u].slow() {
			decoy = users[u]
			break
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	a := &basicAuth{
		users:        users,
		decoy:        decoy,
		challenge:    "Basic realm=" + strconv.Quote(realm),
		headerField:  http.CanonicalHeaderKey(c.HeaderField),
		removeHeader: c.RemoveHeader,
		log:          opts.Log,
		cacheKey:     key,
		cacheSize:    authCacheSize,
		cache:        make(map[[sha256.Size]byte]struct{}),
		slots:        make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
	return a, nil
}

func (a *basicAuth) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	user, password, ok := r.BasicAuth()
	if !ok {
		a.deny(w)
		return
	}
	cred, known := a.users[user]
	if !known {
		// The same work as for a known user, so that response times do
		// not tell which users exist; the result is ignored.
		cred = a.decoy
	}
	switch res := a.check(r, user, password, &cred, known); {
	case res == checkOK && known:
	case res == checkBusy:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	case res == checkGone:
		return
	default:
		if ce := a.log.Check(zap.DebugLevel, "basic auth failed"); ce != nil {
			ce.Write(zap.String("user", user), zap.String("remote", r.RemoteAddr))
		}
		a.deny(w)
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

type checkResult uint8

const (
	checkFailed checkResult = iota
	checkOK
	checkBusy // too many slow checks queued
	checkGone // the client left while queued
)

// check verifies the password, through the cache and the slot limit for
// slow hashes; successes are cached only when cacheable.
func (a *basicAuth) check(r *http.Request, user, password string, cred *credential, cacheable bool) checkResult {
	if !cred.slow() {
		if cred.verify(password) {
			return checkOK
		}
		return checkFailed
	}
	key := a.cacheKeyOf(user, password)
	a.cacheMu.RLock()
	_, hit := a.cache[key]
	a.cacheMu.RUnlock()
	if hit && cacheable {
		return checkOK
	}
	if a.waiters.Add(1) > maxHashWaiters {
		a.waiters.Add(-1)
		return checkBusy
	}
	select {
	case a.slots <- struct{}{}:
		a.waiters.Add(-1)
	case <-r.Context().Done():
		a.waiters.Add(-1)
		return checkGone
	}
	ok := cred.verify(password)
	<-a.slots
	if !ok || !cacheable {
		return checkFailed
	}
	a.cacheMu.Lock()
	if len(a.cache) >= a.cacheSize {
		for k := range a.cache { // drop an arbitrary entry
			delete(a.cache, k)
			break
		}
	}
	a.cache[key] = struct{}{}
	a.cacheMu.Unlock()
	return checkOK
}

// cacheKeyOf is SHA-256 over the instance's random key, the user and the
// password: the cache never holds anything that reveals a password.
func (a *basicAuth) cacheKeyOf(user, password string) [sha256.Size]byte {
	var stack [256]byte
	buf := append(stack[:0], a.cacheKey...)
	buf = append(buf, user...)
	buf = append(buf, 0)
	buf = append(buf, password...)
	return sha256.Sum256(buf)
}

func (a *basicAuth) deny(w http.ResponseWriter) {
	w.Header()["Www-Authenticate"] = []string{a.challenge}
	http.Error(w, "Unauthorized", http.StatusUnauthorized)
}
