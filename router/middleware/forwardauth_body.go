package middleware

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/ferryproxy/ferry/router/config"
)

// authBody holds forwardAuth's options about bodies and the method: the
// request body sent to the auth server (forwardBody, maxBodySize), the
// method asked with (preserveRequestMethod) and the denial body passed to
// the client (maxResponseBodySize).
type authBody struct {
	forward        bool
	max            int64 // -1: no limit
	preserveMethod bool
	maxResponse    int64 // -1: no limit
}

func newAuthBody(c *config.ForwardAuth) authBody {
	b := authBody{forward: c.ForwardBody, max: maxAuthBody, preserveMethod: c.PreserveRequestMethod, maxResponse: maxAuthBody}
	if c.MaxBodySize != nil {
		b.max = *c.MaxBodySize
	}
	if c.MaxResponseBodySize != nil {
		b.maxResponse = *c.MaxResponseBodySize
	}
	return b
}

var errBodyTooLarge = errors.New("body too large")

// request returns the auth request's method and body. With forwardBody it
// reads the client's body (up to max) and puts it back for the server; it
// answers the client itself and reports false when the body is too large
// (413) or cannot be read (400; nothing when the client left).
func (b authBody) request(w http.ResponseWriter, r *http.Request) (string, io.Reader, bool) {
	method := http.MethodGet
	if b.preserveMethod {
		method = r.Method
	}
	if !b.forward || r.Body == nil || r.Body == http.NoBody {
		return method, nil, true
	}
	if b.max >= 0 && r.ContentLength > b.max {
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		return "", nil, false
	}
	data, err := readAtMost(r.Body, b.max)
	switch {
	case errors.Is(err, errBodyTooLarge):
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		return "", nil, false
	case err != nil:
		if r.Context().Err() == nil {
			http.Error(w, "Bad Request", http.StatusBadRequest)
		}
		return "", nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return method, bytes.NewReader(data), true
}

// readAtMost reads all of rd, failing with errBodyTooLarge beyond max bytes
// (max < 0: no limit).
func readAtMost(rd io.Reader, max int64) ([]byte, error) {
	if max < 0 {
		return io.ReadAll(rd)
	}
	data, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errBodyTooLarge
	}
	return data, nil
}

// deny passes a denial to the client: the auth server's status (its headers
// are already set) and body. A body announced larger than maxResponse is
// not sent: the client gets 401 alone; one found larger while copying is
// cut, so the client never takes a truncated page for a whole one.
func (b authBody) deny(w http.ResponseWriter, resp *http.Response) {
	if b.maxResponse >= 0 && resp.ContentLength > b.maxResponse {
		h := w.Header()
		for k := range resp.Header {
			delete(h, k)
		}
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(resp.StatusCode)
	if b.maxResponse < 0 {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	_, _ = io.Copy(w, io.LimitReader(resp.Body, b.maxResponse))
	var one [1]byte
	if n, _ := io.ReadFull(resp.Body, one[:]); n > 0 {
		panic(http.ErrAbortHandler) // larger than allowed: cut the answer
	}
}
