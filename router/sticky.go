package router

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// sticky pins clients to one node of a balancer with a cookie. The cookie
// value is a keyed hash of the node's identity (a server URL, a service
// name), so it does not reveal the address, and it is the same across
// restarts, replicas and configuration swaps: pins survive all three.
type sticky struct {
	name     string
	path     string
	domain   string
	maxAge   int
	secure   bool
	httpOnly bool
	sameSite http.SameSite
	values   []string       // cookie value by node index
	index    map[string]int // node index by cookie value
}

// stickyValue is the cookie value pinning a client to target within a
// service: the first 12 bytes of HMAC-SHA256 keyed by the service name.
func stickyValue(service, target string) string {
	key := sha256.Sum256([]byte("ferry sticky cookie\x00" + service))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(target))
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

func newSticky(service string, c *config.Cookie, values []string) *sticky {
	s := &sticky{name: c.CookieName(service), path: c.Path, domain: c.Domain, maxAge: c.MaxAge, secure: c.Secure, httpOnly: c.HTTPOnly,
		values: values, index: make(map[string]int, len(values))}
	if s.path == "" {
		s.path = "/"
	}
	switch strings.ToLower(c.SameSite) {
	case "none":
		s.sameSite = http.SameSiteNoneMode
	case "lax":
		s.sameSite = http.SameSiteLaxMode
	case "strict":
		s.sameSite = http.SameSiteStrictMode
	}
	for i, v := range values {
		if _, dup := s.index[v]; !dup {
			s.index[v] = i
		}
	}
	return s
}

// usable is what sticky needs from a balancer.
type usable interface {
	// Usable reports whether node i may take requests now.
	Usable(i int) bool
}

// pinned returns the node the request's cookie pins it to, or -1 when it
// has none or that node may not take requests now.
func (s *sticky) pinned(r *http.Request, b usable) int {
	c, err := r.Cookie(s.name)
	if err != nil {
		return -1
	}
	i, ok := s.index[c.Value]
	if !ok || !b.Usable(i) {
		return -1
	}
	return i
}

// picker is what pick needs from a balancer.
type picker interface {
	usable
	// Next returns the next node, false when none may take requests.
	Next() (int, bool)
}

// pick returns the node for the request: the one its cookie pins it to when
// that node may take requests, else the balancer's next, to which the client
// is then pinned (s may be nil: no stickiness). It reports false when no
// node may take the request.
func pick(w http.ResponseWriter, r *http.Request, s *sticky, b picker) (int, bool) {
	if s != nil {
		if i := s.pinned(r, b); i >= 0 {
			return i, true
		}
	}
	i, ok := b.Next()
	if !ok {
		return -1, false
	}
	if s != nil {
		s.pin(w, r, i)
	}
	return i, true
}

// pin sets the cookie that pins the client to node i.
func (s *sticky) pin(w http.ResponseWriter, _ *http.Request, i int) {
	http.SetCookie(w, &http.Cookie{Name: s.name, Value: s.values[i], Path: s.path, Domain: s.domain, MaxAge: s.maxAge,
		Secure: s.secure, HttpOnly: s.httpOnly, SameSite: s.sameSite})
}
