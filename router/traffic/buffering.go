package traffic

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/fault"
)

const (
	// defaultMemBodyBytes is kept in memory before a body spills to disk.
	defaultMemBodyBytes = 1 << 20
	// maxBufferAttempts bounds retries whatever the retry expression says.
	maxBufferAttempts = 10
	// pooledBufferBytes: larger memory buffers are not kept for reuse.
	pooledBufferBytes = 64 << 10
)

// bufState is what a buffering retry expression reads.
type bufState struct {
	attempts int
	code     int
	netErr   bool
}

// bufferRetryFuncs returns the functions a retryExpression may call.
func bufferRetryFuncs() map[string]exprFunc[*bufState] {
	return map[string]exprFunc[*bufState]{
		"Attempts":       {num: func(s *bufState, _ []float64) float64 { return float64(s.attempts) }},
		"ResponseCode":   {num: func(s *bufState, _ []float64) float64 { return float64(s.code) }},
		"IsNetworkError": {cond: func(s *bufState, _ []float64) bool { return s.netErr }},
	}
}

// compileRetryExpr compiles a buffering retryExpression.
func compileRetryExpr(src string) (func(*bufState) bool, error) {
	return compileExpr(src, bufferRetryFuncs())
}

// buffer reads the whole request before passing it on and the whole
// response before sending it, so the server sees complete requests and
// slow clients do not hold server connections; with a retryExpression it
// retries while the expression holds. Upgrade requests (WebSocket) pass
// through unbuffered.
type buffer struct {
	maxReq, memReq   int64
	maxResp, memResp int64
	retry            func(*bufState) bool
	log              *zap.Logger
	pool             sync.Pool // *bufferWriter
}

func newBuffering(c *config.Buffering, log *zap.Logger) (*buffer, error) {
	for _, v := range []struct {
		name string
		n    int64
	}{{"maxRequestBodyBytes", c.MaxRequestBodyBytes}, {"memRequestBodyBytes", c.MemRequestBodyBytes},
		{"maxResponseBodyBytes", c.MaxResponseBodyBytes}, {"memResponseBodyBytes", c.MemResponseBodyBytes}} {
		if v.n < 0 {
			return nil, fmt.Errorf("%s: negative size %d", v.name, v.n)
		}
	}
	b := &buffer{maxReq: c.MaxRequestBodyBytes, memReq: c.MemRequestBodyBytes,
		maxResp: c.MaxResponseBodyBytes, memResp: c.MemResponseBodyBytes, log: log}
	if b.memReq == 0 {
		b.memReq = defaultMemBodyBytes
	}
	if b.memResp == 0 {
		b.memResp = defaultMemBodyBytes
	}
	if c.RetryExpression != "" {
		f, err := compileRetryExpr(c.RetryExpression)
		if err != nil {
			return nil, fmt.Errorf("retryExpression: %w", err)
		}
		b.retry = f
	}
	b.pool.New = func() any { return new(bufferWriter) }
	return b, nil
}

// wrap returns the middleware.
func (b *buffer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Upgrade"]; ok {
			next.ServeHTTP(w, r)
			return
		}
		if b.maxReq > 0 && r.ContentLength > b.maxReq {
			plain(w, http.StatusRequestEntityTooLarge)
			return
		}
		var reqBody *spool
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			reqBody = &spool{memMax: b.memReq, max: b.maxReq}
			defer reqBody.reset()
			if _, err := io.Copy(reqBody, r.Body); err != nil {
				if errors.Is(err, errTooLarge) {
					plain(w, http.StatusRequestEntityTooLarge)
					return
				}
				clientFailed(w, r, err)
				return
			}
		}
		bw := b.pool.Get().(*bufferWriter)
		defer b.release(bw)
		for attempt := 1; ; attempt++ {
			req := r
			if reqBody != nil {
				cp := *r
				cp.Body = io.NopCloser(reqBody.reader())
				cp.ContentLength, cp.TransferEncoding = reqBody.size, nil
				req = &cp
			}
			bw.reset(b.memResp, b.maxResp)
			next.ServeHTTP(bw, req)
			if b.retry == nil || attempt >= maxBufferAttempts || r.Context().Err() != nil ||
				!b.retry(&bufState{attempts: attempt, code: bw.status, netErr: bw.proxyErr != nil && !fault.IsClient(bw.proxyErr)}) {
				break
			}
			NoteRetry(w)
		}
		bw.sendTo(w, r, b.log)
	})
}

// release returns bw to the pool unless its memory buffer grew large.
func (b *buffer) release(bw *bufferWriter) {
	bw.body.reset()
	if bw.body.mem.Cap() > pooledBufferBytes {
		return
	}
	bw.proxyErr = nil
	b.pool.Put(bw)
}

// clientFailed answers a request whose body could not be read: the
// client's fault, classified and passed on like a proxy error.
func clientFailed(w http.ResponseWriter, r *http.Request, err error) {
	fe := &fault.Error{Kind: fault.Classify(r, &fault.BodyError{Err: err}), Err: err}
	SetProxyError(w, fe)
	w.Header()["Connection"] = []string{"close"}
	if fe.Kind == fault.ClientGone {
		w.WriteHeader(fault.StatusClientClosedRequest)
		return
	}
	plain(w, fe.Kind.Status())
}

// plain answers status with its text.
func plain(w http.ResponseWriter, status int) {
	w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}

// bufferWriter collects one attempt's response.
type bufferWriter struct {
	hdr      http.Header
	status   int
	wrote    bool
	body     spool
	tooLarge bool
	failed   error
	proxyErr error
}

var _ ProxyErrorSetter = (*bufferWriter)(nil)

func (bw *bufferWriter) reset(mem, max int64) {
	bw.body.reset()
	bw.body.memMax, bw.body.max = mem, max
	clear(bw.hdr)
	if bw.hdr == nil {
		bw.hdr = make(http.Header)
	}
	bw.status, bw.wrote, bw.tooLarge, bw.failed, bw.proxyErr = http.StatusOK, false, false, nil, nil
}

// SetProxyError keeps the proxy's error for the retry expression.
func (bw *bufferWriter) SetProxyError(err error) { bw.proxyErr = err }

func (bw *bufferWriter) Header() http.Header { return bw.hdr }

func (bw *bufferWriter) WriteHeader(code int) {
	if bw.wrote || code < 200 { // informational answers are dropped
		return
	}
	bw.status, bw.wrote = code, true
}

func (bw *bufferWriter) Write(p []byte) (int, error) {
	bw.wrote = true
	if bw.tooLarge || bw.failed != nil {
		return len(p), nil
	}
	if _, err := bw.body.Write(p); err != nil {
		if errors.Is(err, errTooLarge) {
			bw.tooLarge = true
		} else {
			bw.failed = err
		}
	}
	return len(p), nil // keep the proxy reading: the answer is decided in sendTo
}

// sendTo writes the collected response to the client: 500 instead when it
// was larger than maxResponseBodyBytes or could not be stored.
func (bw *bufferWriter) sendTo(w http.ResponseWriter, r *http.Request, log *zap.Logger) {
	if bw.proxyErr != nil {
		SetProxyError(w, bw.proxyErr)
	}
	if bw.tooLarge || bw.failed != nil {
		if ce := log.Check(zap.WarnLevel, "response not sent"); ce != nil {
			ce.Write(zap.Bool("tooLarge", bw.tooLarge), zap.NamedError("cause", bw.failed))
		}
		plain(w, http.StatusInternalServerError)
		return
	}
	dst := w.Header()
	for k, v := range bw.hdr {
		dst[k] = v
	}
	if _, ok := dst["Content-Length"]; !ok && r.Method != http.MethodHead && bw.status != http.StatusNoContent &&
		bw.status != http.StatusNotModified {
		dst["Content-Length"] = []string{strconv.FormatInt(bw.body.size, 10)}
	}
	w.WriteHeader(bw.status)
	if bw.body.size > 0 {
		_, _ = io.Copy(w, bw.body.reader())
	}
}
