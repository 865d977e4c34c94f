package file

import (
	"fmt"
	"maps"

	"github.com/ferryproxy/ferry/router/config"
)

// merge combines the files, in the given order, into one result. An object
// defined in two files is a problem naming both; the first definition is
// kept, and the problems of the dropped one are left out. dups reports
// whether there was any such object.
func merge(files []*fileConfig, problems []config.Problem) (res *Result, dups bool) {
	res = &Result{Config: &config.Config{}, Problems: problems, Origins: map[config.ObjectID]string{}}
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
				dups = true
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
	return res, dups
}

// mergeObjects copies the objects of src that keep accepts into *dst. The
// order does not matter: names are unique in one file, and the problems
// are sorted once merged.
func mergeObjects[T any](dst *map[string]T, src map[string]T, kind config.Kind, keep func(config.Kind, string) bool) {
	for name, v := range src {
		if !keep(kind, name) {
			continue
		}
		if *dst == nil {
			*dst = make(map[string]T, len(src))
		}
		(*dst)[name] = v
	}
}

// remerge is merge(files, problems) for files that replace lastFiles,
// merged into last without any object defined twice: last is copied and
// changed where the files changed, in proportion to what changed. It
// returns false when an object is now defined twice (merge says where).
func remerge(last *Result, lastFiles, files []*fileConfig, problems []config.Problem) (*Result, bool) {
	before := make(map[string]*fileConfig, len(lastFiles))
	for _, fc := range lastFiles {
		before[fc.path] = fc
	}
	p := &patcher{origins: last.Origins}
	now := make(map[string]bool, len(files))
	for _, fc := range files {
		now[fc.path] = true
		if old := before[fc.path]; old != fc {
			p.pairs = append(p.pairs, [2]*fileConfig{old, fc})
		}
	}
	for _, fc := range lastFiles {
		if !now[fc.path] {
			p.pairs = append(p.pairs, [2]*fileConfig{fc, nil})
		}
	}
	res := &Result{Config: new(config.Config), Problems: problems}
	*res.Config = *last.Config
	c := res.Config
	patch(p, &c.HTTP.Routers, config.KindRouter, func(c *config.Config) map[string]*config.Router { return c.HTTP.Routers })
	patch(p, &c.HTTP.Services, config.KindService, func(c *config.Config) map[string]*config.Service { return c.HTTP.Services })
	patch(p, &c.HTTP.Middlewares, config.KindMiddleware, func(c *config.Config) map[string]*config.Middleware { return c.HTTP.Middlewares })
	patch(p, &c.TCP.Routers, config.KindTCPRouter, func(c *config.Config) map[string]*config.TCPRouter { return c.TCP.Routers })
	patch(p, &c.TCP.Services, config.KindTCPService, func(c *config.Config) map[string]*config.TCPService { return c.TCP.Services })
	patch(p, &c.TCP.Middlewares, config.KindTCPMiddleware, func(c *config.Config) map[string]*config.TCPMiddleware { return c.TCP.Middlewares })
	patch(p, &c.HTTP.ServersTransports, config.KindServersTransport,
		func(c *config.Config) map[string]*config.ServersTransport { return c.HTTP.ServersTransports })
	patch(p, &c.TCP.ServersTransports, config.KindTCPServersTransport,
		func(c *config.Config) map[string]*config.TCPServersTransport { return c.TCP.ServersTransports })
	patch(p, &c.UDP.Routers, config.KindUDPRouter, func(c *config.Config) map[string]*config.UDPRouter { return c.UDP.Routers })
	patch(p, &c.UDP.Services, config.KindUDPService, func(c *config.Config) map[string]*config.UDPService { return c.UDP.Services })
	patch(p, &c.TLS.Options, config.KindTLSOptions, func(c *config.Config) map[string]*config.TLSOptions { return c.TLS.Options })
	patch(p, &c.TLS.Stores, config.KindTLSStore, func(c *config.Config) map[string]*config.TLSStore { return c.TLS.Stores })
	if p.dup {
		return nil, false
	}
	c.TLS.Certificates = nil
	for _, fc := range files {
		c.TLS.Certificates = append(c.TLS.Certificates, fc.cfg.TLS.Certificates...)
		res.Problems = append(res.Problems, fc.problems...)
	}
	config.SortProblems(res.Problems)
	res.Origins = p.origins
	return res, true
}

// patcher is one remerge in progress.
type patcher struct {
	pairs   [][2]*fileConfig // files that changed: before (nil: new), after (nil: gone)
	origins map[config.ObjectID]string
	copied  bool // origins is remerge's own
	dup     bool // an object is defined twice
}

// patch changes *dst, the merged objects of one kind, where the files of
// p's pairs changed them, copying it first. A file spliced from its
// previous version without moving any line is looked at only where the
// splice touched it.
func patch[T comparable](p *patcher, dst *map[string]T, kind config.Kind, get func(*config.Config) map[string]T) {
	var out map[string]T
	own := func() {
		if out == nil {
			out = maps.Clone(*dst)
			if out == nil {
				out = make(map[string]T)
			}
		}
		if !p.copied {
			p.origins, p.copied = maps.Clone(p.origins), true
		}
	}
	for _, pair := range p.pairs {
		var before, after map[string]T
		if pair[0] != nil {
			before = get(pair[0].cfg)
		}
		if pair[1] != nil {
			after = get(pair[1].cfg)
		}
		// update brings name from before to after.
		update := func(name string) bool {
			id := config.ObjectID{Kind: kind, Name: name}
			v, was := before[name]
			w, is := after[name]
			if was && (!is || w != v) {
				own()
				delete(out, name)
				delete(p.origins, id)
			}
			if !is {
				return true
			}
			origin := originOr(pair[1], id)
			if was && v == w {
				if p.origins[id] != origin {
					own()
					p.origins[id] = origin
				}
				return true
			}
			own()
			if _, taken := out[name]; taken {
				p.dup = true
				return false
			}
			out[name] = w
			p.origins[id] = origin
			return true
		}
		if s := pair[1]; s != nil && s.base != nil && s.base == pair[0] && !s.moved {
			for id := range s.touched {
				if id.Kind == kind && !update(id.Name) {
					return
				}
			}
			continue
		}
		for name := range before {
			if _, is := after[name]; !is && !update(name) {
				return
			}
		}
		for name := range after {
			if !update(name) {
				return
			}
		}
	}
	if out != nil {
		if len(out) == 0 {
			out = nil
		}
		*dst = out
	}
}
