package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// Headers the path middlewares set for the application.
const (
	headerForwardedPrefix = "X-Forwarded-Prefix"
	headerReplacedPath    = "X-Replaced-Path"
)

// withPath returns a shallow copy of r whose URL has the given path
// (decoded) and raw path (escaped, "" when the default encoding of path).
// The original request stays as it was, for the access log.
func withPath(r *http.Request, path, rawPath string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := new(url.URL)
	*u = *r.URL
	u.Path = path
	u.RawPath = rawPath
	if rawPath != "" && u.EscapedPath() != rawPath { // not a valid encoding of path
		u.RawPath = ""
	}
	r2.URL = u
	return r2
}

// ensureSlash makes p start with a slash.
func ensureSlash(p string) string {
	if p == "" || p[0] != '/' {
		return "/" + p
	}
	return p
}

func newStripPrefix(c *config.StripPrefix) (Wrapper, error) {
	if len(c.Prefixes) == 0 {
		return nil, fmt.Errorf("stripPrefix.prefixes: no prefix")
	}
	prefixes := append([]string(nil), c.Prefixes...)
	for i, p := range prefixes {
		if p == "" {
			return nil, fmt.Errorf("stripPrefix.prefixes[%d]: empty prefix", i)
		}
	}
	rest := stripRest(c.ForceSlash) // paths_strip.go
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range prefixes {
				if strings.HasPrefix(r.URL.Path, p) {
					raw := ""
					if r.URL.RawPath != "" {
						raw = rest(strings.TrimPrefix(r.URL.RawPath, p))
					}
					r.Header[headerForwardedPrefix] = []string{p}
					next.ServeHTTP(w, withPath(r, rest(r.URL.Path[len(p):]), raw))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// compileRegex compiles expr, naming option on error.
func compileRegex(option, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, fmt.Errorf("%s: empty regular expression", option)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", option, err)
	}
	return re, nil
}

func newStripPrefixRegex(c *config.StripPrefixRegex) (Wrapper, error) {
	if len(c.Regex) == 0 {
		return nil, fmt.Errorf("stripPrefixRegex.regex: no expression")
	}
	res := make([]*regexp.Regexp, len(c.Regex))
	for i, expr := range c.Regex {
		re, err := compileRegex(fmt.Sprintf("stripPrefixRegex.regex[%d]", i), expr)
		if err != nil {
			return nil, err
		}
		res[i] = re
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, re := range res {
				loc := re.FindStringIndex(r.URL.Path)
				if loc == nil || loc[0] != 0 || loc[1] == 0 {
					continue
				}
				prefix := r.URL.Path[:loc[1]]
				raw := ""
				if r.URL.RawPath != "" {
					raw = ensureSlash(strings.TrimPrefix(r.URL.RawPath, prefix))
				}
				r.Header[headerForwardedPrefix] = []string{prefix}
				next.ServeHTTP(w, withPath(r, ensureSlash(r.URL.Path[loc[1]:]), raw))
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

func newAddPrefix(c *config.AddPrefix) (Wrapper, error) {
	if c.Prefix == "" {
		return nil, fmt.Errorf("addPrefix.prefix: empty prefix")
	}
	prefix := ensureSlash(c.Prefix)
	rawPrefix := (&url.URL{Path: prefix}).EscapedPath()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := ""
			if r.URL.RawPath != "" {
				raw = rawPrefix + r.URL.RawPath
			}
			next.ServeHTTP(w, withPath(r, prefix+r.URL.Path, raw))
		})
	}, nil
}

func newReplacePath(c *config.ReplacePath) (Wrapper, error) {
	if c.Path == "" {
		return nil, fmt.Errorf("replacePath.path: empty path")
	}
	path := c.Path
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header[headerReplacedPath] = []string{r.URL.EscapedPath()}
			next.ServeHTTP(w, withPath(r, path, ""))
		})
	}, nil
}

func newReplacePathRegex(c *config.ReplacePathRegex) (Wrapper, error) {
	re, err := compileRegex("replacePathRegex.regex", c.Regex)
	if err != nil {
		return nil, err
	}
	repl := c.Replacement
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			escaped := r.URL.EscapedPath()
			if !re.MatchString(escaped) {
				next.ServeHTTP(w, r)
				return
			}
			raw := re.ReplaceAllString(escaped, repl)
			path, err := url.PathUnescape(raw)
			if err != nil {
				http.Error(w, "Bad Request", http.StatusBadRequest)
				return
			}
			r.Header[headerReplacedPath] = []string{escaped}
			next.ServeHTTP(w, withPath(r, path, raw))
		})
	}, nil
}
