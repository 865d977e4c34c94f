package traffic

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ferryproxy/ferry/router/config"
)

// allowList admits only clients whose IP is in its ranges.
type allowList struct {
	ranges *prefixSet
	ip     *ipStrategy
	status int
	body   []byte
}

func newIPAllowList(c *config.IPAllowList) (*allowList, error) {
	if len(c.SourceRange) == 0 {
		return nil, errors.New("sourceRange: empty: list the IPs and CIDRs allowed")
	}
	ranges, err := newPrefixSet(c.SourceRange, "sourceRange")
	if err != nil {
		return nil, err
	}
	ip, err := newIPStrategy(c.IPStrategy, "ipStrategy")
	if err != nil {
		return nil, err
	}
	status := c.RejectStatusCode
	if status == 0 {
		status = http.StatusForbidden
	}
	if status < 100 || status > 599 {
		return nil, fmt.Errorf("rejectStatusCode: invalid status %d", status)
	}
	return &allowList{ranges: ranges, ip: ip, status: status, body: []byte(http.StatusText(status) + "\n")}, nil
}

// wrap returns the middleware: the reject status (403) for clients outside
// the ranges, or whose IP the strategy cannot find.
func (a *allowList) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := a.ip.clientIP(r); ok && a.ranges.containsText(ip) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	})
}
