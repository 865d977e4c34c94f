package router

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Access log formats.
const (
	AccessLogCommon = "common"
	AccessLogJSON   = "json"
)

// AccessLog writes one line per request, in Common Log Format (with the
// router name and duration appended, as Traefik does) or as JSON.
type AccessLog struct {
	mu     sync.Mutex
	w      io.Writer
	format string
	buf    []byte
}

// NewAccessLog returns an access log writing to w in format (common or json).
func NewAccessLog(w io.Writer, format string) (*AccessLog, error) {
	switch format {
	case "", AccessLogCommon:
		format = AccessLogCommon
	case AccessLogJSON:
	default:
		return nil, fmt.Errorf("router: access log: unknown format %q (want common or json)", format)
	}
	return &AccessLog{w: w, format: format}, nil
}

type accessEntry struct {
	Time        string  `json:"time"`
	ClientAddr  string  `json:"ClientAddr"`
	Method      string  `json:"RequestMethod"`
	Host        string  `json:"RequestHost"`
	Path        string  `json:"RequestPath"`
	Protocol    string  `json:"RequestProtocol"`
	Status      int     `json:"DownstreamStatus"`
	Size        int64   `json:"DownstreamContentSize"`
	EntryPoint  string  `json:"entryPointName"`
	Router      string  `json:"RouterName,omitempty"`
	DurationMS  float64 `json:"DurationMs"`
	UserAgent   string  `json:"request_User-Agent,omitempty"`
	Referer     string  `json:"request_Referer,omitempty"`
	ForwardedIP string  `json:"request_X-Forwarded-For,omitempty"`
	TraceID     string  `json:"TraceId,omitempty"`
}

// Log records one request.
func (a *AccessLog) Log(r *http.Request, status int, size int64, start time.Time, entryPoint, router, traceID string) {
	now := time.Now()
	dur := now.Sub(start)
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buf[:0]
	if a.format == AccessLogJSON {
		line, err := json.Marshal(accessEntry{
			Time: now.UTC().Format(time.RFC3339Nano), ClientAddr: r.RemoteAddr, Method: r.Method, Host: r.Host,
			Path: r.RequestURI, Protocol: r.Proto, Status: status, Size: size, EntryPoint: entryPoint, Router: router,
			DurationMS: float64(dur.Microseconds()) / 1000, UserAgent: r.UserAgent(), Referer: r.Referer(),
			ForwardedIP: r.Header.Get("X-Forwarded-For"), TraceID: traceID,
		})
		if err != nil {
			return
		}
		b = append(append(b, line...), '\n')
	} else {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		b = append(b, host...)
		b = append(b, " - - ["...)
		b = now.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
		b = append(b, "] \""...)
		b = append(b, r.Method...)
		b = append(b, ' ')
		b = append(b, r.RequestURI...)
		b = append(b, ' ')
		b = append(b, r.Proto...)
		b = append(b, "\" "...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, size, 10)
		b = append(b, " \""...)
		b = append(b, dash(r.Referer())...)
		b = append(b, "\" \""...)
		b = append(b, dash(r.UserAgent())...)
		b = append(b, "\" \""...)
		b = append(b, dash(router)...)
		b = append(b, "\" "...)
		b = strconv.AppendInt(b, dur.Milliseconds(), 10)
		b = append(b, "ms\n"...)
	}
	a.buf = b
	_, _ = a.w.Write(b)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
