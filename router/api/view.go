package api

import (
	"sync"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// view is what the API shows of one table: its objects' state, with
// their definitions taken from the table's configuration redacted. Errors
// and problems were redacted by router.Build.
type view struct {
	t   *router.Table
	cfg *config.Config // t.Config().Redacted()
}

// viewer makes the view of the live table, redacting each table's
// configuration once: tables are immutable.
type viewer struct {
	sw   *router.Switcher
	mu   sync.Mutex
	last *view
}

func (v *viewer) view() *view {
	t := v.sw.Table()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last == nil || v.last.t != t {
		cfg := t.Config().Redacted()
		if cfg == nil {
			cfg = &config.Config{}
		}
		v.last = &view{t: t, cfg: cfg}
	}
	return v.last
}

// definition returns the redacted definition of the object called name;
// nil (nothing shown) when the configuration has none.
func definition[T any](m map[string]*T, name string) *T { return m[name] }

func (v *view) routers() []router.RouterInfo {
	out := v.t.Routers()
	for i := range out {
		out[i].Router = definition(v.cfg.HTTP.Routers, out[i].Name)
	}
	return out
}

// services returns the HTTP services; server URLs, the keys of the
// per-server state, are redacted like the definitions.
func (v *view) services() []router.ServiceInfo {
	out := v.t.Services()
	for i := range out {
		s := &out[i]
		s.Service = definition(v.cfg.HTTP.Services, s.Name)
		if s.ServerStatus != nil {
			st := make(map[string]string, len(s.ServerStatus))
			for u, status := range s.ServerStatus {
				st[config.RedactURL(u)] = status
			}
			s.ServerStatus = st
		}
		if s.ServerHealth != nil {
			h := make(map[string]router.ServerHealth, len(s.ServerHealth))
			for u, sh := range s.ServerHealth {
				sh.LastError = config.RedactText(sh.LastError)
				h[config.RedactURL(u)] = sh
			}
			s.ServerHealth = h
		}
	}
	return out
}

func (v *view) middlewares() []router.MiddlewareInfo {
	out := v.t.Middlewares()
	for i := range out {
		out[i].Middleware = definition(v.cfg.HTTP.Middlewares, out[i].Name)
	}
	return out
}

func (v *view) tcpRouters() []router.TCPRouterInfo {
	out := v.t.TCPRouters()
	for i := range out {
		out[i].TCPRouter = definition(v.cfg.TCP.Routers, out[i].Name)
	}
	return out
}

func (v *view) tcpServices() []router.TCPServiceInfo {
	out := v.t.TCPServices()
	for i := range out {
		out[i].TCPService = definition(v.cfg.TCP.Services, out[i].Name)
	}
	return out
}

func (v *view) udpRouters() []router.UDPRouterInfo {
	out := v.t.UDPRouters()
	for i := range out {
		out[i].UDPRouter = definition(v.cfg.UDP.Routers, out[i].Name)
	}
	return out
}

func (v *view) udpServices() []router.UDPServiceInfo {
	out := v.t.UDPServices()
	for i := range out {
		out[i].UDPService = definition(v.cfg.UDP.Services, out[i].Name)
	}
	return out
}

// problems returns the table's problems, never nil. Their messages, like
// the objects' errors, were redacted when the table was built.
func (v *view) problems() []config.Problem {
	if ps := v.t.Problems(); ps != nil {
		return ps
	}
	return []config.Problem{}
}
