package router

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferryproxy/ferry/router/fault"
	"github.com/ferryproxy/ferry/router/rule"
)

// recorder wraps the client's ResponseWriter to learn the status and size
// of the response and why the proxy failed, if it did. It is pooled.
type recorder struct {
	http.ResponseWriter
	status   int
	size     int64
	start    time.Time
	proxyErr error
	noServer bool
	wrote    bool
	aborted  bool // the client went away: nothing more is sent
	retries  int  // attempts the retry middleware repeated
	match    rule.Request
}

var _ http.Flusher = (*recorder)(nil)

// recorderPool recycles recorders between requests.
type recorderPool struct{ pool sync.Pool }

func (p *recorderPool) get(w http.ResponseWriter) *recorder {
	rec, _ := p.pool.Get().(*recorder)
	if rec == nil {
		rec = new(recorder)
	}
	*rec = recorder{ResponseWriter: w, status: http.StatusOK, start: time.Now()}
	return rec
}

func (p *recorderPool) put(rec *recorder) {
	*rec = recorder{}
	p.pool.Put(rec)
}

func (r *recorder) WriteHeader(code int) {
	if code == fault.StatusClientClosedRequest && !r.wrote {
		// Only logged: the entry handler aborts the response.
		r.status, r.wrote, r.aborted = code, true, true
		return
	}
	if r.aborted {
		return
	}
	if !r.wrote {
		r.status = code
		if code >= 200 || code == http.StatusSwitchingProtocols {
			r.wrote = true
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.aborted {
		return len(b), nil
	}
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.size += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (r *recorder) Flush() {
	r.wrote = true
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack hands the connection over (WebSocket upgrades).
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// SetProxyError records why the proxy failed, for the access log.
func (r *recorder) SetProxyError(err error) { r.proxyErr = err }

// NoteRetry counts a retried attempt, for metrics.
func (r *recorder) NoteRetry() { r.retries++ }

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
