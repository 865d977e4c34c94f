package entrypoint

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Response is the http.ResponseWriter of a request served by h1Server.
// It frames the answer as net/http's server does: a Content-Length for a
// short body written before the handler returns, chunks for a longer one
// on HTTP/1.1 (the end of the connection on HTTP/1.0), trailers, 1xx
// answers, 100 Continue on the body's first read, and Hijack for upgrades.
// Its headers are written with the first bytes of the body that do not
// fit the held-back part, on Flush, or when the handler returns.
type h1Response struct {
	c      *h1Conn
	req    *http.Request
	body   *reqBody
	header http.Header

	status        int   // the final status; 0 until WriteHeader
	contentLength int64 // -1: not known
	clSet         bool  // the handler declared a valid Content-Length
	written       int64
	committed     bool // the headers are in the connection's writer
	chunked       bool
	closeAfter    bool
	hijacked      bool
	fullDuplex    bool
	noContinue    bool // guarded by c.cont: no 100 Continue any more

	isHEAD, http11, wants10KeepAlive bool

	// From the headers as they were at WriteHeader.
	te       string
	conn     []string
	haveDate bool
	haveType bool
	haveCE   bool
	trailers bool
	declared []string // the Trailer header's values
}

var (
	_ http.Flusher  = (*h1Response)(nil)
	_ http.Hijacker = (*h1Response)(nil)
)

// Header returns the response's headers.
func (w *h1Response) Header() http.Header { return w.header }

// WriteHeader sends an informational (1xx) answer at once, or records the
// final status and takes a snapshot of the headers.
func (w *h1Response) WriteHeader(code int) {
	if w.hijacked || w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.status = code
	w.snapshot()
}

// writeInformational writes a 1xx answer and flushes it.
func (w *h1Response) writeInformational(code int) {
	c := w.c
	c.cont.Lock()
	defer c.cont.Unlock()
	bw := c.bw
	writeStatusLine(bw, w.http11, code)
	for k, vv := range w.header {
		if k == "Content-Length" || k == "Transfer-Encoding" || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}
	_, _ = bw.WriteString("\r\n")
	_ = bw.Flush()
}

// snapshot writes the headers as they are now into the connection's
// header block, keeping aside the ones that decide the framing; later
// changes to the map only matter as trailers.
func (w *h1Response) snapshot() {
	c := w.c
	hb := c.bufs.hdr[:0]
	bodyAllowed := bodyAllowedForStatus(w.status)
	for k, vv := range w.header {
		switch k {
		case "Content-Length":
			if len(vv) > 0 {
				if n, err := strconv.ParseInt(vv[0], 10, 64); err == nil && n >= 0 {
					w.contentLength, w.clSet = n, true
				}
			}
			continue
		case "Transfer-Encoding":
			if len(vv) > 0 {
				w.te = vv[0]
			}
			continue
		case "Connection":
			w.conn = vv
			continue
		case "Date":
			w.haveDate = true
		case "Content-Type":
			w.haveType = true
			if w.status == http.StatusNotModified {
				continue
			}
		case "Content-Encoding":
			w.haveCE = len(vv) > 0 && vv[0] != ""
		case "Trailer":
			w.trailers, w.declared = true, vv
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			w.trailers = true
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			hb = appendHeaderLine(hb, k, v)
		}
	}
	c.bufs.hdr = hb
	if !bodyAllowed {
		w.clSet, w.contentLength = false, -1
	}
}

// Write writes body bytes: held back until they outgrow preCommitSize,
// then after the headers.
func (w *h1Response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	c := w.c
	if !w.committed {
		if len(c.bufs.pre)+len(p) <= preCommitSize {
			c.bufs.pre = append(c.bufs.pre, p...)
			return len(p), nil
		}
		if err := w.commit(false, p); err != nil {
			return 0, err
		}
	}
	if w.isHEAD {
		return len(p), nil
	}
	return w.writeBody(p)
}

// writeBody writes p to the connection's writer, as a chunk if chunked.
func (w *h1Response) writeBody(p []byte) (int, error) {
	bw := w.c.bw
	if w.chunked {
		var hex [16]byte
		_, _ = bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		n, err := bw.Write(p)
		if err == nil {
			_, err = bw.WriteString("\r\n")
		}
		return n, err
	}
	return bw.Write(p)
}

// commit writes the status line and the headers, with the framing
// decided as net/http's server decides it, then the held-back body. next
// is what is about to be written after it, for sniffing the content type.
func (w *h1Response) commit(done bool, next []byte) error {
	w.committed = true
	c := w.c
	c.cont.Lock()
	w.noContinue = true
	c.cont.Unlock()
	p := c.bufs.pre
	code := w.status
	bodyAllowed := bodyAllowedForStatus(code)
	hasTE := w.te != ""
	if done && !w.trailers && !hasTE && bodyAllowed && !w.clSet && (!w.isHEAD || len(p) > 0) {
		w.contentLength, w.clSet = int64(len(p)), true
	}
	connHeader := ""
	if len(w.conn) > 0 {
		connHeader = w.conn[0]
	}
	var setConnection string
	if w.wants10KeepAlive && (w.isHEAD || w.clSet || !bodyAllowed) {
		if w.conn == nil {
			setConnection = "keep-alive"
		}
	} else if !w.http11 {
		w.closeAfter = true
	}
	if connHeader == "close" || c.srv.shutdown.Load() {
		w.closeAfter = true
	}
	if w.body.owesContinue() {
		w.closeAfter = true // the client was never asked for the body
	}
	if w.req.ContentLength != 0 && !w.closeAfter && !w.fullDuplex && !w.body.discardRest() {
		w.closeAfter = true
		w.conn, setConnection = nil, "close"
	}
	var contentType string
	if bodyAllowed && !w.haveCE && !w.haveType && !hasTE && len(p)+len(next) > 0 {
		contentType = http.DetectContentType(sniffed(p, next))
	}
	if w.clSet && hasTE && w.te != "identity" {
		w.clSet, w.contentLength = false, -1
	}
	writeTE := false
	switch {
	case w.isHEAD || !bodyAllowed || code == http.StatusNoContent, w.clSet:
	case w.http11:
		if hasTE && w.te == "identity" {
			w.closeAfter = true
		} else {
			w.chunked, writeTE = true, true
		}
	default:
		w.closeAfter = true
	}
	if w.closeAfter && !httpguts.HeaderValuesContainsToken(w.conn, "close") {
		w.conn = nil
		if w.http11 {
			setConnection = "close"
		}
	}

	bw := c.bw
	writeStatusLine(bw, w.http11, code)
	_, _ = bw.Write(c.bufs.hdr)
	if w.clSet && bodyAllowed {
		var n [20]byte
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(strconv.AppendInt(n[:0], w.contentLength, 10))
		_, _ = bw.WriteString("\r\n")
	}
	if writeTE {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if contentType != "" {
		writeHeaderLine(bw, "Content-Type", contentType)
	}
	if !w.haveDate {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(c.date())
		_, _ = bw.WriteString("\r\n")
	}
	for _, v := range w.conn {
		writeHeaderLine(bw, "Connection", v)
	}
	if setConnection != "" {
		writeHeaderLine(bw, "Connection", setConnection)
	}
	_, err := bw.WriteString("\r\n")
	if len(p) > 0 && !w.isHEAD && bodyAllowed {
		_, err = w.writeBody(p)
	}
	c.bufs.pre = p[:0]
	return err
}

// finish completes the response once the handler has returned.
func (w *h1Response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		_ = w.commit(true, nil)
	}
	if w.chunked {
		bw := w.c.bw
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		_, _ = bw.WriteString("\r\n")
	}
	if !w.isHEAD && w.clSet && bodyAllowedForStatus(w.status) && w.written != w.contentLength {
		w.closeAfter = true // the client would wait for the rest
	}
	_ = w.body.Close()
}

// writeTrailers writes the declared trailers and those set with
// http.TrailerPrefix, from the headers as they are now.
func (w *h1Response) writeTrailers(bw *bufio.Writer) {
	for _, v := range w.declared {
		for k := range strings.SplitSeq(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if k == "" || !httpguts.ValidTrailerHeader(k) {
				continue
			}
			for _, tv := range w.header[k] {
				writeHeaderLine(bw, k, tv)
			}
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && httpguts.ValidHeaderFieldName(name) {
			for _, v := range vv {
				writeHeaderLine(bw, name, v)
			}
		}
	}
}

// Flush sends what was written so far.
func (w *h1Response) Flush() { _ = w.FlushError() }

// FlushError sends what was written so far, writing the headers first.
func (w *h1Response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if err := w.commit(false, nil); err != nil {
			return err
		}
	}
	return w.c.bw.Flush()
}

// Hijack hands the connection over (WebSocket and other upgrades): from
// then on it is a tunnel, closed after idleTimeout without traffic.
func (w *h1Response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	c := w.c
	c.cr.disarm()
	if w.committed {
		if err := c.bw.Flush(); err != nil {
			return nil, nil, err
		}
	}
	w.hijacked = true
	_ = c.conn.SetDeadline(time.Time{})
	if cc := innermost(c.conn); cc != nil {
		cc.startTunnel(c.srv.opts.IdleTimeout)
	}
	rw := bufio.NewReadWriter(c.br, c.bw)
	c.br, c.bw = nil, nil
	return c.conn, rw, nil
}

// SetReadDeadline sets the connection's read deadline (for the body).
func (w *h1Response) SetReadDeadline(t time.Time) error { return w.c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline.
func (w *h1Response) SetWriteDeadline(t time.Time) error { return w.c.conn.SetWriteDeadline(t) }

// EnableFullDuplex lets the handler read the body after writing headers.
func (w *h1Response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// writeContinue sends 100 Continue, unless the response has started.
func (w *h1Response) writeContinue() error {
	c := w.c
	c.cont.Lock()
	defer c.cont.Unlock()
	if w.noContinue {
		return nil
	}
	_, err := io.WriteString(c.conn, "HTTP/1.1 100 Continue\r\n\r\n")
	return err
}

// discardRest reads the rest of a body the handler left unread, within
// maxPostHandlerReadBytes; it reports whether the body is complete.
func (b *reqBody) discardRest() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.discardLocked()
	return b.eof
}

// owesContinue reports whether the client waits for a 100 Continue that
// was never sent.
func (b *reqBody) owesContinue() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.continueOwed && !b.eof
}

// date returns the Date header's value, formatted once a second.
func (c *h1Conn) date() []byte {
	now := time.Now()
	if s := now.Unix(); s != c.dateSec {
		c.dateSec = s
		now.UTC().AppendFormat(c.dateBuf[:0], http.TimeFormat)
	}
	return c.dateBuf[:]
}

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

// sniffed is the start of a body held back in p and continued in next.
func sniffed(p, next []byte) []byte {
	if len(p) >= sniffLen || len(next) == 0 {
		return p
	}
	if len(p) == 0 {
		return next
	}
	return append(p[:len(p):len(p)], next[:min(len(next), sniffLen-len(p))]...)
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

func writeStatusLine(bw *bufio.Writer, http11 bool, code int) {
	if http11 {
		_, _ = bw.WriteString("HTTP/1.1 ")
	} else {
		_, _ = bw.WriteString("HTTP/1.0 ")
	}
	var n [8]byte
	_, _ = bw.Write(strconv.AppendInt(n[:0], int64(code), 10))
	_ = bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(text)
	} else {
		_, _ = bw.WriteString("status code ")
		_, _ = bw.Write(strconv.AppendInt(n[:0], int64(code), 10))
	}
	_, _ = bw.WriteString("\r\n")
}

func writeHeaderLine(bw *bufio.Writer, k, v string) {
	_, _ = bw.WriteString(k)
	_, _ = bw.WriteString(": ")
	_, _ = bw.WriteString(headerValue(v))
	_, _ = bw.WriteString("\r\n")
}

func appendHeaderLine(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, headerValue(v)...)
	return append(b, "\r\n"...)
}

// headerValue is v as it can be written: line breaks, which would let a
// value start a header or a body of its own, become spaces; surrounding
// blanks go.
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return strings.Trim(v, " \t")
}
