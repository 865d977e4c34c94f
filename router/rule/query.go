package rule

import (
	"net/url"
	"strings"
)

// queryMatch reports whether some value of parameter key in the raw query
// string satisfies ok. It follows url.ParseQuery (pairs containing ';' or a
// bad escape are skipped) without building the url.Values map, and
// allocates only for keys or values that are percent- or plus-encoded.
func queryMatch(raw, key string, ok func(string) bool) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, valid := queryUnescape(k)
		if !valid || k != key {
			continue
		}
		if v, valid = queryUnescape(v); valid && ok(v) {
			return true
		}
	}
	return false
}

// queryUnescape decodes a query component, skipping the work when there is
// nothing to decode.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
