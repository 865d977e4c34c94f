package decode

import (
	"fmt"
	"strings"
)

// Error is one problem found while decoding.
type Error struct {
	// Path is the key path as written, e.g. http.routers.web.rulee or
	// http.services.web.loadBalancer.servers[0].url.
	Path string
	// Keys is Path split into its parts: map keys as written (which may
	// themselves contain dots) and list indexes as "[0]".
	Keys []string
	// Line is the 1-based source line, 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error formats the error as "http.routers.web.rulee (line 4): unknown key".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		if e.Path != "" {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(line %d)", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems of one Decode call, in document order.
type Errors []*Error

// Error joins the errors, one per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Err returns es as an error, or a nil error when es is empty. Use it
// rather than assigning es to an error variable directly, which would make
// a non-nil error of an empty list.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// JoinPath formats key parts as a path: parts joined by dots, list indexes
// ("[0]") appended as they are.
func JoinPath(keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 && !strings.HasPrefix(k, "[") {
			b.WriteByte('.')
		}
		b.WriteString(k)
	}
	return b.String()
}
