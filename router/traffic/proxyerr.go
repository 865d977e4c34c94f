package traffic

import "net/http"

// ProxyErrorSetter is implemented by response writers that want to learn
// why the proxy failed to reach a server (a refused connection, a reset, a
// timeout) before it answers 502 or 504: the retry middleware holds that
// answer back and tries again, the circuit breaker counts it as a network
// error, the router logs it.
type ProxyErrorSetter interface {
	SetProxyError(err error)
}

// SetProxyError tells the first ProxyErrorSetter in w's chain of wrapped
// writers (followed through Unwrap) that the proxy failed with err. It
// reports whether one was found. The proxy calls it before writing its
// error response.
func SetProxyError(w http.ResponseWriter, err error) bool {
	for w != nil {
		if s, ok := w.(ProxyErrorSetter); ok {
			s.SetProxyError(err)
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

// RetryNoter is implemented by response writers that count retried
// attempts (the router's recorder, for metrics).
type RetryNoter interface {
	NoteRetry()
}

// NoteRetry tells the first RetryNoter in w's chain of wrapped writers that
// an attempt is being retried.
func NoteRetry(w http.ResponseWriter) {
	for w != nil {
		if n, ok := w.(RetryNoter); ok {
			n.NoteRetry()
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
