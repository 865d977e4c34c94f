package file

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// fileConfig is what one file that parsed contributes.
type fileConfig struct {
	path     string
	cfg      *config.Config
	problems []config.Problem // decode problems
	origins  map[config.ObjectID]string
	// layout is where the routers, services and middlewares are, for
	// splicing a change into them (splice.go); nil when it cannot be.
	layout *layout
	// base, when not nil, is the configuration this one was spliced from:
	// touched are the objects the splice replaced, added or removed, and
	// moved says whether any line moved (then origins did too).
	base    *fileConfig
	touched map[config.ObjectID]bool
	moved   bool
}

// parseFile turns one file's contents into its configuration. It fails
// only when the file does not parse at all; that error is a
// *decode.SyntaxError. Decode problems inside an object name the object;
// others name the file.
func parseFile(path string, data []byte) (*fileConfig, error) {
	var n *decode.Node
	var err error
	plain := false
	if isTOML(path) {
		n, err = decode.ParseTOML(data)
	} else {
		n, plain, err = decode.ParseYAMLPlain(data)
	}
	if err != nil {
		return nil, err
	}
	fc := &fileConfig{path: path, cfg: &config.Config{}, origins: map[config.ObjectID]string{}}
	errs := decode.Decode(n, fc.cfg)
	for _, e := range errs {
		fc.problems = append(fc.problems, problemFor(path, e))
	}
	if plain {
		fc.layout = layoutOf(n, data, errs) // splice.go
	}
	http := n.Get("http")
	for _, s := range sections {
		objs := http.Get(s.key)
		if objs == nil || objs.Kind != decode.Map {
			continue
		}
		for _, name := range objs.Keys {
			if !s.has(fc.cfg, name) {
				continue
			}
			fc.origins[config.ObjectID{Kind: s.kind, Name: name}] = where(path, objs.Map[name].Line)
		}
	}
	addTCPOrigins(fc, n, path)
	addTLSOrigins(fc, n, path) // build_tls.go
	addUDPOrigins(fc, n, path)
	return fc, nil
}

// isTOML reports whether path is a TOML file (else YAML).
func isTOML(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".toml")
}

// section is one kind of named object under http.
type section struct {
	key  string
	kind config.Kind
	has  func(c *config.Config, name string) bool
}

var sections = [...]section{
	{"routers", config.KindRouter, func(c *config.Config, n string) bool { _, ok := c.HTTP.Routers[n]; return ok }},
	{"services", config.KindService, func(c *config.Config, n string) bool { _, ok := c.HTTP.Services[n]; return ok }},
	{"middlewares", config.KindMiddleware, func(c *config.Config, n string) bool { _, ok := c.HTTP.Middlewares[n]; return ok }},
	{"serversTransports", config.KindServersTransport, func(c *config.Config, n string) bool { _, ok := c.HTTP.ServersTransports[n]; return ok }},
}

// problemFor turns a decode error into a problem of the object its path
// names (http.routers.<name>...), or of the file when it names none.
func problemFor(path string, e *decode.Error) config.Problem {
	if p, ok := tlsProblemFor(path, e); ok { // build_tls.go
		return p
	}
	k := e.Keys
	if len(k) >= 3 && strings.EqualFold(k[0], "http") && !strings.HasPrefix(k[2], "[") {
		for _, s := range sections {
			if strings.EqualFold(k[1], s.key) {
				return config.Problem{
					Kind:    s.kind,
					Name:    k[2],
					Field:   decode.JoinPath(k[3:]),
					Message: where(path, e.Line) + ": " + e.Msg,
				}
			}
		}
	}
	msg := e.Msg
	if e.Line > 0 {
		msg = fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return config.Problem{Kind: config.KindSource, Name: path, Field: e.Path, Message: msg}
}

// where formats path:line, or the path alone when the line is unknown.
func where(path string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", path, line)
	}
	return path
}

// syntaxProblem reports a file that does not parse.
func syntaxProblem(path string, err error) config.Problem {
	msg := err.Error()
	if se, ok := err.(*decode.SyntaxError); ok {
		msg = se.Where()
	}
	return config.Problem{Kind: config.KindSource, Name: path, Message: msg}
}

// originOr is the object's origin in fc, or the file's path.
func originOr(fc *fileConfig, id config.ObjectID) string {
	if o, ok := fc.origins[id]; ok {
		return o
	}
	return fc.path
}
