package acme

import (
	"net/http"
	"strings"
)

// ChallengePath is the path prefix of HTTP-01 challenge requests.
const ChallengePath = "/.well-known/acme-challenge/"

// HTTPHandler answers the HTTP-01 challenges of the resolvers whose
// httpChallenge.entryPoint is entryPoint, ahead of next (routing). Other
// requests, including challenge paths no order is waiting for, go to next.
// It returns next itself when no resolver uses the entry point.
func (m *Manager) HTTPHandler(entryPoint string, next http.Handler) http.Handler {
	var rs []*resolver
	for _, n := range m.names {
		if r := m.resolvers[n]; r.http == entryPoint {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ChallengePath) {
			for _, res := range rs {
				if res.issuer.HandleHTTPChallenge(w, r) {
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
