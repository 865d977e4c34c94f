package middleware

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ferryproxy/ferry/router/config"
)

// defaultMinCompressBytes is the default minResponseBodyBytes.
const defaultMinCompressBytes = 1024

// encoder is what gzip, brotli and zstd writers have in common.
type encoder interface {
	io.Writer
	Flush() error
	Close() error
	Reset(io.Writer)
}

// codec is one content coding with its pool of encoders.
type codec struct {
	name string // the Content-Encoding token
	pool sync.Pool
}

// compress compresses responses with the best coding the client accepts.
type compress struct {
	min      int
	excluded []string // media types, lower case, no parameters
	codecs   []*codec // in the server's order of preference
	writers  sync.Pool
}

func newCompress(c *config.Compress) (Wrapper, error) {
	cm := &compress{min: c.MinResponseBodyBytes}
	if cm.min < 0 {
		return nil, fmt.Errorf("compress.minResponseBodyBytes: negative value %d", cm.min)
	}
	if cm.min == 0 {
		cm.min = defaultMinCompressBytes
	}
	for i, t := range c.ExcludedContentTypes {
		mt := mediaType(t)
		if !strings.Contains(mt, "/") {
			return nil, fmt.Errorf("compress.excludedContentTypes[%d]: invalid media type %q", i, t)
		}
		cm.excluded = append(cm.excluded, mt)
	}
	names := c.Encodings
	if len(names) == 0 {
		names = []string{"zstd", "br", "gzip"}
	}
	for i, n := range names {
		cd, err := newCodec(strings.ToLower(strings.TrimSpace(n)))
		if err != nil {
			return nil, fmt.Errorf("compress.encodings[%d]: %w", i, err)
		}
		cm.codecs = append(cm.codecs, cd)
	}
	cm.writers.New = func() any { return &compressWriter{buf: make([]byte, 0, cm.min)} }
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cm.serve(w, r, next) })
	}, nil
}

func newCodec(name string) (*codec, error) {
	cd := &codec{name: name}
	switch name {
	case "gzip":
		cd.pool.New = func() any {
			g, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
			return g
		}
	case "br":
		cd.pool.New = func() any { return brotli.NewWriterLevel(nil, 4) }
	case "zstd":
		cd.pool.New = func() any {
			z, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
				zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
			return z
		}
	default:
		return nil, fmt.Errorf("unknown encoding %q (want gzip, br or zstd)", name)
	}
	return cd, nil
}

// mediaType returns the lower-case media type of a Content-Type value.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

func (cm *compress) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ae := r.Header["Accept-Encoding"]
	if len(ae) == 0 || r.Method == http.MethodHead {
		next.ServeHTTP(w, r)
		return
	}
	cd := cm.negotiate(ae)
	if cd == nil {
		next.ServeHTTP(w, r)
		return
	}
	cw := cm.writers.Get().(*compressWriter)
	cw.rw, cw.cm, cw.codec = w, cm, cd
	next.ServeHTTP(cw, r)
	// Not deferred: when the handler panics (an aborted upstream body),
	// the response must not be completed with an encoder trailer.
	cw.finish()
	*cw = compressWriter{buf: cw.buf[:0]}
	cm.writers.Put(cw)
}

// negotiate picks the codec with the highest q-value in Accept-Encoding,
// the server's order breaking ties; nil when none is acceptable. A codec
// not named gets the q-value of "*", if any.
func (cm *compress) negotiate(values []string) *codec {
	var qs [8]float64 // per codec; -1: not named
	n := min(len(cm.codecs), len(qs))
	for i := range n {
		qs[i] = -1
	}
	star := 0.0
	for _, v := range values {
		for v != "" {
			var elem string
			elem, v, _ = strings.Cut(v, ",")
			name, q := parseCoding(elem)
			if name == "*" {
				star = q
				continue
			}
			for i := range n {
				if strings.EqualFold(name, cm.codecs[i].name) {
					qs[i] = q
				}
			}
		}
	}
	var best *codec
	bestQ := 0.0
	for i := range n {
		q := qs[i]
		if q < 0 {
			q = star
		}
		if q > bestQ {
			best, bestQ = cm.codecs[i], q
		}
	}
	return best
}

// parseCoding splits one Accept-Encoding element, "gzip;q=0.5", into its
// coding and q-value (1 when absent, 0 when invalid).
func parseCoding(elem string) (string, float64) {
	name, params, _ := strings.Cut(elem, ";")
	name = strings.TrimSpace(name)
	params = strings.TrimSpace(params)
	if params == "" {
		return name, 1
	}
	k, val, ok := strings.Cut(params, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
		return name, 1
	}
	q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err != nil || q < 0 {
		return name, 0
	}
	return name, q
}

// excludedType reports whether responses of content type ct pass uncompressed.
func (cm *compress) excludedType(ct string) bool {
	mt := mediaType(ct)
	// Streams are never compressed: that would hold back the events and
	// messages the client waits for.
	if mt == "text/event-stream" || strings.HasPrefix(mt, "application/grpc") {
		return true
	}
	for _, e := range cm.excluded {
		if mt == e {
			return true
		}
	}
	return false
}

// noTransform reports whether the response forbids proxies to change it
// (Cache-Control: no-transform).
func noTransform(h http.Header) bool {
	for _, v := range h["Cache-Control"] {
		for v != "" {
			var d string
			d, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(d), "no-transform") {
				return true
			}
		}
	}
	return false
}

// compressWriter states.
const (
	cwUndecided = iota // buffering the first bytes; nothing sent yet
	cwPass             // passing the response through unchanged
	cwCompress         // headers sent with Content-Encoding; body through the encoder
)

// compressWriter buffers up to min bytes of the response, then either
// compresses the rest or passes everything through. Streams (a Flush
// before the threshold, event streams, gRPC) are never held back.
type compressWriter struct {
	rw      http.ResponseWriter
	cm      *compress
	codec   *codec
	enc     encoder
	buf     []byte
	status  int
	state   uint8
	written bool // WriteHeader seen
}

func (w *compressWriter) Header() http.Header { return w.rw.Header() }

func (w *compressWriter) WriteHeader(code int) {
	if w.state == cwPass && !w.written && code >= 200 {
		w.written = true
		w.rw.WriteHeader(code)
		return
	}
	if w.written || w.state != cwUndecided {
		return
	}
	if code < 200 { // informational: forwarded; 101 hands the connection over
		if code == http.StatusSwitchingProtocols {
			w.state = cwPass
		}
		w.rw.WriteHeader(code)
		return
	}
	w.written, w.status = true, code
	h := w.rw.Header()
	switch {
	case code == http.StatusNoContent, code == http.StatusNotModified, code == http.StatusPartialContent,
		len(h["Content-Encoding"]) > 0, len(h["Content-Range"]) > 0, noTransform(h),
		len(h["Content-Type"]) > 0 && w.cm.excludedType(h["Content-Type"][0]):
		w.pass()
		return
	}
	if cl := h["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil {
			if n < int64(w.cm.min) {
				w.pass()
			} else if len(h["Content-Type"]) > 0 { // else sniff the type from the first bytes
				w.start(nil)
			}
		}
	}
}

func (w *compressWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	switch w.state {
	case cwPass:
		return w.rw.Write(b)
	case cwCompress:
		return w.enc.Write(b)
	}
	if len(w.buf)+len(b) < w.cm.min {
		w.buf = append(w.buf, b...)
		return len(b), nil
	}
	sniff := b
	if len(w.buf) > 0 {
		sniff = w.buf
	}
	w.start(sniff)
	return w.Write(b)
}

// pass sends the status and what was buffered, and passes the rest through.
func (w *compressWriter) pass() {
	w.state = cwPass
	if w.written {
		w.rw.WriteHeader(w.status)
	}
	if len(w.buf) > 0 {
		_, _ = w.rw.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

// start decides to compress (unless the type sniffed from the first bytes
// is excluded), sends the headers and what was buffered.
func (w *compressWriter) start(sniff []byte) {
	h := w.rw.Header()
	if len(h["Content-Type"]) == 0 && len(sniff) > 0 {
		h["Content-Type"] = []string{http.DetectContentType(sniff)}
	}
	if ct := h["Content-Type"]; len(ct) > 0 && w.cm.excludedType(ct[0]) {
		w.pass()
		return
	}
	w.state = cwCompress
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	h["Content-Encoding"] = []string{w.codec.name}
	h.Add("Vary", "Accept-Encoding")
	if et := h["Etag"]; len(et) > 0 && !strings.HasPrefix(et[0], "W/") {
		h["Etag"] = []string{"W/" + et[0]}
	}
	w.rw.WriteHeader(w.status)
	w.enc = w.codec.pool.Get().(encoder)
	w.enc.Reset(w.rw)
	if len(w.buf) > 0 {
		_, _ = w.enc.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

// Flush sends everything written so far. Before the threshold, a flush
// means the response is a stream: it passes through uncompressed.
func (w *compressWriter) Flush() {
	switch w.state {
	case cwUndecided:
		if !w.written {
			w.WriteHeader(http.StatusOK)
		}
		if w.state == cwUndecided {
			w.pass()
		} else if w.state == cwCompress {
			_ = w.enc.Flush()
		}
	case cwCompress:
		_ = w.enc.Flush()
	}
	_ = http.NewResponseController(w.rw).Flush()
}

// Hijack hands the connection over; nothing is compressed after that.
func (w *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.state = cwPass
	w.written = true
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *compressWriter) Unwrap() http.ResponseWriter { return w.rw }

// finish ends the response once the handler returned.
func (w *compressWriter) finish() {
	switch w.state {
	case cwUndecided:
		if w.written {
			w.pass()
		}
	case cwCompress:
		_ = w.enc.Close()
		w.enc.Reset(nil)
		w.codec.pool.Put(w.enc)
		w.enc = nil
	}
}
