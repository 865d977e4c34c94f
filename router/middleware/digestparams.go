package middleware

import "strings"

// digestParams are the parameters of an Authorization: Digest header.
// Values are substrings of the header (a quoted value with escapes is
// unescaped into a new string).
type digestParams struct {
	username, realm, nonce, uri, response, algorithm string
	cnonce, opaque, qop, nc, userhash                string
}

// parseDigestParams parses the comma-separated auth-params after "Digest ":
// name=token or name="quoted string", names in any case. It reports false
// on a syntax error or a repeated parameter that Ferry reads.
func parseDigestParams(s string) (digestParams, bool) {
	var p digestParams
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return p, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return p, false
		}
		name := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t")
		var value string
		if strings.HasPrefix(s, `"`) {
			v, rest, ok := cutQuoted(s[1:])
			if !ok {
				return p, false
			}
			value, s = v, rest
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			value, s = strings.TrimSpace(s[:end]), s[end:]
		}
		dst := p.field(name)
		if dst == nil {
			continue // a parameter Ferry does not read
		}
		if *dst != "" {
			return p, false
		}
		*dst = value
	}
}

// field returns where the parameter name goes, nil for others.
func (p *digestParams) field(name string) *string {
	switch strings.ToLower(name) {
	case "username":
		return &p.username
	case "realm":
		return &p.realm
	case "nonce":
		return &p.nonce
	case "uri":
		return &p.uri
	case "response":
		return &p.response
	case "algorithm":
		return &p.algorithm
	case "cnonce":
		return &p.cnonce
	case "opaque":
		return &p.opaque
	case "qop":
		return &p.qop
	case "nc":
		return &p.nc
	case "userhash":
		return &p.userhash
	}
	return nil
}

// cutQuoted reads a quoted string whose opening quote is consumed, and
// returns its value and what follows the closing quote.
func cutQuoted(s string) (value, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			return s[:i], s[i+1:], true
		case '\\':
			return unescapeQuoted(s)
		}
	}
	return "", "", false
}

// unescapeQuoted is cutQuoted's slow path, for a value with backslashes.
func unescapeQuoted(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
