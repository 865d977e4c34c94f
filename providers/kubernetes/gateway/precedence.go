package gateway

// precedence is what orders two routers that may match the same request,
// as the Gateway API defines it: the most specific hostname (an exact name,
// then the longest wildcard), then an exact path, then the longest prefix,
// then a method match, then the most header matches, then the most query
// matches; on ties, the oldest route, then the first in namespace/name
// order (both given by the route's rank), then the first rule, then the
// first match. Regular expression paths (implementation-specific) rank
// below exact paths and above every prefix.
type precedence struct {
	host      int // hostGroup.class()
	pathClass int // pathNone, pathPrefix, pathRegexp or pathExact
	pathLen   int
	method    bool
	headers   int
	query     int
	rank      int
	rule      int
	match     int
}

// Path classes, least specific first.
const (
	pathNone = iota
	pathPrefix
	pathRegexp
	pathExact
)

// Field widths of the priority, lowest bits first. A value beyond its
// width is clamped: the API server bounds them (16 rules, 64 matches, 16
// headers and query params, 1024-character paths) except for the number of
// routes, beyond which ties fall back to router names.
const (
	matchBits   = 6
	ruleBits    = 4
	rankBits    = 16
	queryBits   = 5
	headerBits  = 5
	methodBits  = 1
	pathLenBits = 11
	pathCls     = 2
	hostBits    = 9
)

// priority encodes p as a Ferry router priority: higher is tried first.
// The result stays below 2^59.
func (p precedence) priority() int {
	v := 0
	put := func(x, bits int) {
		x = max(0, min(x, 1<<bits-1))
		v = v<<bits | x
	}
	put(p.host, hostBits)
	put(p.pathClass, pathCls)
	put(p.pathLen, pathLenBits)
	put(boolInt(p.method), methodBits)
	put(p.headers, headerBits)
	put(p.query, queryBits)
	// Earlier ranks, rules and matches win: invert them.
	put(1<<rankBits-1-min(p.rank, 1<<rankBits-1), rankBits)
	put(1<<ruleBits-1-min(p.rule, 1<<ruleBits-1), ruleBits)
	put(1<<matchBits-1-min(p.match, 1<<matchBits-1), matchBits)
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
