package file

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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
}

// parseFile turns one file's contents into its configuration. It fails
// only when the file does not parse at all; that error is a
// *decode.SyntaxError. Decode problems inside an object name the object;
// others name the file.
func parseFile(path string, data []byte) (*fileConfig, error) {
	var n *decode.Node
	var err error
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		n, err = decode.ParseTOML(data)
	} else {
		n, err = decode.ParseYAML(data)
	}
	if err != nil {
		return nil, err
	}
	fc := &fileConfig{path: path, cfg: &config.Config{}, origins: map[config.ObjectID]string{}}
	for _, e := range decode.Decode(n, fc.cfg) {
		fc.problems = append(fc.problems, problemFor(path, e))
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

// merge combines the files, in the given order, into one result. An object
// defined in two files is a problem naming both; the first definition is
// kept, and the problems of the dropped one are left out.
func merge(files []*fileConfig, problems []config.Problem) *Result {
	res := &Result{Config: &config.Config{}, Problems: problems, Origins: map[config.ObjectID]string{}}
	dropped := map[string]map[config.ObjectID]bool{} // file -> objects not kept from it
	for _, fc := range files {
		drop := map[config.ObjectID]bool{}
		dropped[fc.path] = drop
		keep := func(kind config.Kind, name string) bool {
			id := config.ObjectID{Kind: kind, Name: name}
			if first, ok := res.Origins[id]; ok {
				res.Problems = append(res.Problems, config.Problem{
					Kind: kind, Name: name,
					Message: fmt.Sprintf("defined in both %s and %s; the first is used", first, originOr(fc, id)),
				})
				drop[id] = true
				return false
			}
			res.Origins[id] = originOr(fc, id)
			return true
		}
		mergeObjects(&res.Config.HTTP.Routers, fc.cfg.HTTP.Routers, config.KindRouter, keep)
		mergeObjects(&res.Config.HTTP.Services, fc.cfg.HTTP.Services, config.KindService, keep)
		mergeObjects(&res.Config.HTTP.Middlewares, fc.cfg.HTTP.Middlewares, config.KindMiddleware, keep)
		mergeObjects(&res.Config.TCP.Routers, fc.cfg.TCP.Routers, config.KindTCPRouter, keep)
		mergeObjects(&res.Config.TCP.Services, fc.cfg.TCP.Services, config.KindTCPService, keep)
		mergeObjects(&res.Config.TCP.Middlewares, fc.cfg.TCP.Middlewares, config.KindTCPMiddleware, keep)
		mergeObjects(&res.Config.HTTP.ServersTransports, fc.cfg.HTTP.ServersTransports, config.KindServersTransport, keep)
		mergeObjects(&res.Config.TCP.ServersTransports, fc.cfg.TCP.ServersTransports, config.KindTCPServersTransport, keep)
		mergeUDP(res, fc, keep)
		res.Config.TLS.Certificates = append(res.Config.TLS.Certificates, fc.cfg.TLS.Certificates...)
		mergeObjects(&res.Config.TLS.Options, fc.cfg.TLS.Options, config.KindTLSOptions, keep)
		mergeObjects(&res.Config.TLS.Stores, fc.cfg.TLS.Stores, config.KindTLSStore, keep)
	}
	for _, fc := range files {
		for _, p := range fc.problems {
			if !dropped[fc.path][p.ID()] {
				res.Problems = append(res.Problems, p)
			}
		}
	}
	config.SortProblems(res.Problems)
	return res
}

// originOr is the object's origin in fc, or the file's path.
func originOr(fc *fileConfig, id config.ObjectID) string {
	if o, ok := fc.origins[id]; ok {
		return o
	}
	return fc.path
}

// mergeObjects copies the objects of src that keep accepts into *dst,
// in name order so that duplicate problems come out the same every time.
func mergeObjects[T any](dst *map[string]T, src map[string]T, kind config.Kind, keep func(config.Kind, string) bool) {
	for _, name := range slices.Sorted(maps.Keys(src)) {
		if !keep(kind, name) {
			continue
		}
		if *dst == nil {
			*dst = make(map[string]T, len(src))
		}
		(*dst)[name] = src[name]
	}
}
