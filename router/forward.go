package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// serverProxy forwards requests to one server. A body-less request to an
// http:// server is written straight from the client's request onto a
// pooled connection and its answer copied back (forward); every other one
// goes through net/http's ReverseProxy (rp), whose rules forward follows:
// the same hop-by-hop headers dropped, the same X-Forwarded-* headers, the
// same interim answers, trailers and flushing, and the same error and
// passive health hooks (rp.ModifyResponse, rp.ErrorHandler).
type serverProxy struct {
	rp *httputil.ReverseProxy
	// direct sends the body-less requests; nil: rp serves all.
	direct *h1Client
	// addr is the server's host:port; host its Host header unless the
	// client's is passed.
	addr, host string
	passHost   bool
	buffers    httputil.BufferPool
}

func (p *serverProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, ok := p.directHost(r)
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.forward(w, r, host)
}

// directHost returns the Host header for r when forward may send r, which
// is when ReverseProxy would send it unchanged but for the headers.
func (p *serverProxy) directHost(r *http.Request) (string, bool) {
	if p.direct == nil || r.ContentLength != 0 || (r.Body != nil && r.Body != http.NoBody) ||
		r.Method == http.MethodConnect || r.URL.Opaque != "" || !cleanQuery(r.URL.RawQuery) {
		return "", false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return "", false
	}
	if _, ok := r.Header["Expect"]; ok {
		return "", false
	}
	host := p.host
	if p.passHost && r.Host != "" {
		host = r.Host
	}
	// Names to convert to punycode, zones and invalid hosts: ReverseProxy's.
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 || host[i] == '%' {
			return "", false
		}
	}
	return host, httpguts.ValidHostHeader(host)
}

// cleanQuery reports whether ReverseProxy leaves a query as it is: no ';'
// and no malformed escape.
func cleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// forward sends r to the server and copies its answer to w.
func (p *serverProxy) forward(w http.ResponseWriter, r *http.Request, host string) {
	resp, err := p.direct.exchange(r, p.addr, exchange{
		write:         func(bw *bufio.Writer) error { return writeForwarded(bw, r, host) },
		informational: func(interim *http.Response) { writeInterim(w, interim) },
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		p.fail(w, r, fmt.Errorf("backend tried to switch protocol %q when none was requested", resp.Header.Get("Upgrade")))
		return
	}
	removeHopByHop(resp.Header)
	if p.rp.ModifyResponse != nil {
		if err := p.rp.ModifyResponse(resp); err != nil {
			resp.Body.Close()
			p.fail(w, r, err)
			return
		}
	}
	h := w.Header()
	addHeader(h, resp.Header)
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := p.copyBody(w, resp, streamed(resp)); err != nil {
		resp.Body.Close()
		// Part of the answer is out: all that is left is to abort it.
		panic(http.ErrAbortHandler)
	}
	resp.Body.Close()
	if len(resp.Trailer) == 0 {
		return
	}
	_ = http.NewResponseController(w).Flush() // chunked, so that trailers follow
	if len(resp.Trailer) == announced {
		addHeader(h, resp.Trailer)
		return
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// fail answers a request that got no answer from the server.
func (p *serverProxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	if p.rp.ErrorHandler != nil {
		p.rp.ErrorHandler(w, r, err)
		return
	}
	proxyError(w, r, err)
}

// copyBody copies the answer's body to w, flushing after every write when
// streamed.
func (p *serverProxy) copyBody(w http.ResponseWriter, resp *http.Response, streamed bool) error {
	buf := p.buffers.Get()
	defer p.buffers.Put(buf)
	var flush func() error
	if streamed {
		// The head goes out at once, before any body arrives.
		flush = http.NewResponseController(w).Flush
		if err := flush(); err != nil {
			return err
		}
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if rerr != nil && rerr != io.EOF && p.rp.ErrorLog != nil {
			p.rp.ErrorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush != nil {
				if werr := flush(); werr != nil {
					return werr
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// streamed reports whether an answer is flushed as it arrives, as
// ReverseProxy does: server-sent events, and answers of unknown length.
func streamed(resp *http.Response) bool {
	if resp.ContentLength == -1 {
		return true
	}
	ct := resp.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// writeInterim passes a 1xx answer on to the client.
func writeInterim(w http.ResponseWriter, interim *http.Response) {
	h := w.Header()
	addHeader(h, interim.Header)
	w.WriteHeader(interim.StatusCode)
	clear(h)
}

// addHeader adds src's values to dst; a key dst lacks takes src's slice.
func addHeader(dst, src http.Header) {
	for k, vv := range src {
		if prior, ok := dst[k]; ok {
			dst[k] = append(prior, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// hopHeaders are the hop-by-hop headers ReverseProxy drops, in canonical
// form.
var hopHeaders = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopByHop drops the hop-by-hop headers of h: those its Connection
// header names, and the known ones.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.Trim(sf, " \t"); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// writeForwarded writes the head of the request ReverseProxy would send
// for r (forward.go's rules), with host as its Host header.
func writeForwarded(bw *bufio.Writer, r *http.Request, host string) error {
	uri := r.URL.RequestURI()
	for i := 0; i < len(uri); i++ {
		if b := uri[i]; b < ' ' || b == 0x7f {
			return errors.New("net/http: can't write control character in Request.URL")
		}
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if ua := r.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		writeField(bw, "User-Agent", ua[0])
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch: // as net/http does
		bw.WriteString("Content-Length: 0\r\n")
	}
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if skipForwarded(k) || len(conn) > 0 && connectionNames(conn, k) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	writeXForwarded(bw, r)
	_, err := bw.WriteString("\r\n")
	return err
}

// skipForwarded reports whether header k of a client's request is not
// copied as it is: hop-by-hop, written apart, or set by writeXForwarded.
func skipForwarded(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "User-Agent", "Content-Length",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Real-Ip":
		return true
	}
	return false
}

// connectionNames reports whether the Connection header values conn name
// the header k.
func connectionNames(conn []string, k string) bool {
	for _, f := range conn {
		for sf := range strings.SplitSeq(f, ",") {
			if strings.EqualFold(strings.Trim(sf, " \t"), k) {
				return true
			}
		}
	}
	return false
}

// writeXForwarded writes the X-Forwarded-* and X-Real-Ip headers as
// setForwarded sets them.
func writeXForwarded(bw *bufio.Writer, r *http.Request) {
	in := r.Header
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err == nil {
		// One value: the prior ones and the client's, joined, then
		// cleaned as one.
		bw.WriteString("X-Forwarded-For: ")
		for i, v := range in["X-Forwarded-For"] {
			if i == 0 {
				v = strings.TrimLeft(v, " \t\r\n")
			}
			bw.WriteString(newlinesToSpaces(v))
			bw.WriteString(", ")
		}
		writeValue(bw, ip)
		bw.WriteString("\r\n")
	}
	if v, ok := in["X-Forwarded-Host"]; ok {
		writeFields(bw, "X-Forwarded-Host", v)
	} else {
		writeField(bw, "X-Forwarded-Host", r.Host)
	}
	if v, ok := in["X-Forwarded-Proto"]; ok {
		writeFields(bw, "X-Forwarded-Proto", v)
	} else if r.TLS != nil {
		bw.WriteString("X-Forwarded-Proto: https\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: http\r\n")
	}
	if v, ok := in["Forwarded"]; ok {
		writeFields(bw, "Forwarded", v)
	}
	if v, ok := in["X-Forwarded-Port"]; ok {
		writeFields(bw, "X-Forwarded-Port", v)
	} else {
		bw.WriteString("X-Forwarded-Port: ")
		if port, n := forwardedPortOf(r); port != "" {
			writeValue(bw, port)
		} else {
			bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(n), 10))
		}
		bw.WriteString("\r\n")
	}
	if v, ok := in["X-Real-Ip"]; ok {
		writeFields(bw, "X-Real-Ip", v)
	} else if err == nil {
		writeField(bw, "X-Real-Ip", ip)
	}
}

func writeFields(bw *bufio.Writer, k string, vv []string) {
	for _, v := range vv {
		writeField(bw, k, v)
	}
}

// writeField writes one header line as net/http does: line breaks in the
// value become spaces, and spaces and tabs around it go.
func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	writeValue(bw, v)
	bw.WriteString("\r\n")
}

func writeValue(bw *bufio.Writer, v string) {
	bw.WriteString(strings.Trim(newlinesToSpaces(v), " \t"))
}

// newlinesToSpaces replaces CR and LF with spaces.
func newlinesToSpaces(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}
