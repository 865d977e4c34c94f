package router

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/tcp"
)

// TCPMiddlewareInfo is a TCP middleware's definition and state, as the API
// shows it.
type TCPMiddlewareInfo struct {
	*config.TCPMiddleware
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Error    []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// builtTCPMiddleware is a TCP middleware kept across swaps while its
// definition does not change, so its state (connection counts) survives.
type builtTCPMiddleware struct {
	def   *config.TCPMiddleware
	guard tcp.Guard
}

// tcpMiddlewares is the TCP middleware part of a table.
type tcpMiddlewares struct {
	built map[string]*builtTCPMiddleware
	info  map[string]*TCPMiddlewareInfo
}

// buildTCPMiddlewares builds every TCP middleware, reusing the previous
// table's instance of an unchanged definition.
func (b *builder) buildTCPMiddlewares(prev *tcpTable) *tcpMiddlewares {
	defs := b.cfg.TCP.Middlewares
	out := &tcpMiddlewares{built: make(map[string]*builtTCPMiddleware, len(defs)), info: make(map[string]*TCPMiddlewareInfo, len(defs))}
	for _, name := range sortedKeys(defs) {
		def := defs[name]
		if def == nil {
			continue
		}
		out.info[name] = &TCPMiddlewareInfo{TCPMiddleware: def, Name: name, Provider: config.ProviderOf(name)}
		if b.disabled(config.KindTCPMiddleware, name) {
			continue
		}
		if prev != nil && prev.mws != nil {
			if old := prev.mws.built[name]; old != nil && (old.def == def || reflect.DeepEqual(old.def, def)) {
				out.built[name] = old
				continue
			}
		}
		g, err := tcp.NewGuard(def)
		if err != nil {
			b.problem(config.Problem{Kind: config.KindTCPMiddleware, Name: name, Message: err.Error()})
			continue
		}
		out.built[name] = &builtTCPMiddleware{def: def, guard: g}
	}
	return out
}

// tcpGuards returns a TCP router's middlewares, recording a problem (which
// disables the router) for each that is missing or disabled.
func (b *builder) tcpGuards(router string, def *config.TCPRouter, mws *tcpMiddlewares) []tcp.NamedGuard {
	if len(def.Middlewares) == 0 {
		return nil
	}
	out := make([]tcp.NamedGuard, 0, len(def.Middlewares))
	for i, name := range def.Middlewares {
		if info := mws.info[name]; info != nil {
			info.UsedBy = append(info.UsedBy, router)
		}
		m := mws.built[name]
		if m == nil {
			if _, exists := b.cfg.TCP.Middlewares[name]; exists {
				b.problem(config.Problem{Kind: config.KindTCPRouter, Name: router, Field: fmt.Sprintf("middlewares[%d]", i),
					Message: fmt.Sprintf("TCP middleware %q is disabled", name)})
			}
			continue // a missing one is reported by Validate
		}
		out = append(out, tcp.NamedGuard{Name: name, Guard: m.guard})
	}
	return out
}

// finishTCPMiddlewares sets the API status of every TCP middleware.
func (b *builder) finishTCPMiddlewares(mws *tcpMiddlewares) {
	for name, info := range mws.info {
		info.Status, info.Error = b.status(config.KindTCPMiddleware, name)
		sort.Strings(info.UsedBy)
	}
}

// TCPMiddlewares returns every TCP middleware, sorted by name.
func (t *Table) TCPMiddlewares() []TCPMiddlewareInfo {
	if t.tcp == nil || t.tcp.mws == nil {
		return []TCPMiddlewareInfo{}
	}
	out := make([]TCPMiddlewareInfo, 0, len(t.tcp.mws.info))
	for _, m := range t.tcp.mws.info {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
