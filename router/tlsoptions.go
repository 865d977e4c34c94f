package router

import (
	"crypto/tls"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/entrypoint"
)

// TLSCertificates picks the certificates of the handshakes that TLS
// options govern: the Switcher. StrictCertificate is GetCertificate for
// options with sniStrict: it refuses a name no certificate covers instead
// of serving a default certificate.
type TLSCertificates interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	StrictCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// builtTLSOptions is one set of TLS options made into the configurations
// of the handshakes it governs. It is kept by the next build while its
// definition and its CA files do not change, so its session ticket keys
// (and resumed sessions) survive unrelated changes.
type builtTLSOptions struct {
	name      string // qualified name; "" for the built-in default
	def       *config.TLSOptions
	stamp     string          // versions of the caFiles
	certs     TLSCertificates // what picks the certificates (nil: none)
	http, tcp *tls.Config     // on HTTP entry points; on TCP routers that terminate TLS
}

// tlsTable is the TLS part of a table: the TLS options, which of them each
// entry point's handshakes get per server name, and the default certificate.
type tlsTable struct {
	options map[string]*builtTLSOptions // enabled options, by qualified name
	builtin *builtTLSOptions            // Ferry's defaults: TLS 1.2+, Go's suites and curves
	def     *builtTLSOptions            // the default options: configured, else builtin; nil when broken
	defs    []string                    // the qualified names of the configured default options
	entries []*sniSelection             // by entry point; nil: the entry point's own configuration

	storeDef  *config.Certificate // tls.stores.default.defaultCertificate, as configured
	storeCert *tls.Certificate    // and loaded
	storeStmp string
	generated string // tls.stores.default.defaultGeneratedCert.domain.main, normalised

	warnings []config.Problem // about routers; they stay enabled
}

// buildTLSOptions builds tls.options and the default store. It runs before
// the routers, which check that the options they name are enabled.
func (b *builder) buildTLSOptions() {
	ts := &tlsTable{options: make(map[string]*builtTLSOptions, len(b.cfg.TLS.Options)),
		entries: make([]*sniSelection, len(b.opts.EntryPoints))}
	b.table.tls = ts
	var prev *tlsTable
	if b.prev != nil {
		prev = b.prev.tls
	}
	for _, name := range sortedKeys(b.cfg.TLS.Options) {
		def := b.cfg.TLS.Options[name]
		if config.BaseName(name) == config.DefaultTLSName {
			ts.defs = append(ts.defs, name)
		}
		if def == nil || b.disabled(config.KindTLSOptions, name) {
			continue
		}
		var old *builtTLSOptions
		if prev != nil {
			old = prev.options[name]
		}
		bo, err := b.tlsOptions(name, def, old)
		if err != nil {
			b.problem(config.Problem{Kind: config.KindTLSOptions, Name: name, Message: err.Error()})
			continue
		}
		ts.options[name] = bo
	}
	var old *builtTLSOptions
	if prev != nil {
		old = prev.builtin
	}
	ts.builtin, _ = b.tlsOptions("", &config.TLSOptions{}, old) // cannot fail: nothing to read
	switch len(ts.defs) {
	case 0:
		ts.def = ts.builtin
	case 1:
		ts.def = ts.options[ts.defs[0]] // nil when disabled
	}
	b.loadDefaultStore(prev)
}

// tlsOptions builds one set of options, or returns old when nothing it
// depends on changed.
func (b *builder) tlsOptions(name string, def *config.TLSOptions, old *builtTLSOptions) (*builtTLSOptions, error) {
	stamps := make([]string, len(def.ClientAuth.CAFiles))
	for i, f := range def.ClientAuth.CAFiles {
		stamps[i] = fileStamp(f)
	}
	stamp := strings.Join(stamps, "|")
	if old != nil && old.stamp == stamp && old.certs == b.opts.TLSCertificates && (old.def == def || reflect.DeepEqual(old.def, def)) {
		return old, nil
	}
	var get, strict entrypoint.CertificateFunc
	if c := b.opts.TLSCertificates; c != nil {
		get, strict = c.GetCertificate, c.StrictCertificate
	}
	if def.SNIStrict {
		get = strict
	}
	forHTTP, forTCP, err := entrypoint.OptionsTLSConfigs(def, get)
	if err != nil {
		return nil, err
	}
	return &builtTLSOptions{name: name, def: def, stamp: stamp, certs: b.opts.TLSCertificates, http: forHTTP, tcp: forTCP}, nil
}

// loadDefaultStore reads tls.stores.default: its default certificate (kept
// from the previous table while its files do not change) and the name of
// its generated one.
func (b *builder) loadDefaultStore(prev *tlsTable) {
	ts := b.table.tls
	name, store, ok := b.cfg.TLS.DefaultTLSStore()
	if !ok || b.disabled(config.KindTLSStore, name) {
		return
	}
	if g := store.DefaultGeneratedCert; g != nil {
		ts.generated = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(g.Domain.Main), "."))
	}
	d := store.DefaultCertificate
	if d == nil {
		return
	}
	stamp := fileStamp(d.CertFile) + "|" + fileStamp(d.KeyFile)
	if prev != nil && prev.storeDef != nil && *prev.storeDef == *d && prev.storeStmp == stamp {
		ts.storeDef, ts.storeCert, ts.storeStmp = d, prev.storeCert, stamp
		return
	}
	cert, err := loadKeyPair(d.CertFile, d.KeyFile)
	if err != nil {
		b.problem(config.Problem{Kind: config.KindTLSStore, Name: name, Field: "defaultCertificate", Message: err.Error()})
		return
	}
	ts.storeDef, ts.storeCert, ts.storeStmp = d, cert, stamp
}

// resolveTLSOptions returns the enabled options a reference names
// ("", default, name@provider), or why there are none.
func (b *builder) resolveTLSOptions(ref string) (*builtTLSOptions, error) {
	ts := b.table.tls
	if ref == "" || ref == config.DefaultTLSName {
		if ts.def == nil {
			msg := fmt.Sprintf("the default TLS options (%s) are disabled", strings.Join(ts.defs, ", "))
			if errs := b.errs[config.ObjectID{Kind: config.KindTLSOptions, Name: ts.defs[0]}]; len(errs) > 0 {
				msg += ": " + errs[0]
			}
			return nil, errors.New(msg)
		}
		return ts.def, nil
	}
	if bo := ts.options[ref]; bo != nil {
		return bo, nil
	}
	if _, ok := b.cfg.TLS.Options[ref]; ok {
		if errs := b.errs[config.ObjectID{Kind: config.KindTLSOptions, Name: ref}]; len(errs) > 0 {
			return nil, fmt.Errorf("TLS options %q are disabled: %s", ref, errs[0])
		}
		return nil, fmt.Errorf("TLS options %q are disabled", ref)
	}
	return nil, fmt.Errorf("TLS options %q do not exist", ref)
}

// routerTLSRef returns the TLS options a router uses on entry point ep:
// its own tls.options, else the entry point's http.tls.options (qualified
// with the router's provider), else the default.
func (b *builder) routerTLSRef(name string, def *config.Router, ep int) string {
	if def.TLS != nil && def.TLS.Options != "" {
		return def.TLS.Options
	}
	if o := b.opts.EntryPoints[ep].TLSOptions; o != "" {
		return config.QualifyTLSOptions(o, config.ProviderOf(name))
	}
	return config.DefaultTLSName
}

// checkRouterTLS disables an HTTP router whose TLS options, on one of the
// entry points where it serves TLS, are missing or disabled: it is never
// served with other settings than it asks for.
func (b *builder) checkRouterTLS(name string, def *config.Router, eps []int) {
	reported := map[string]bool{}
	for _, i := range eps {
		if def.TLS == nil && !b.opts.EntryPoints[i].TLS {
			continue
		}
		ref := b.routerTLSRef(name, def, i)
		if reported[ref] {
			continue
		}
		if _, err := b.resolveTLSOptions(ref); err != nil {
			reported[ref] = true
			msg := err.Error()
			if def.TLS == nil || def.TLS.Options == "" && b.opts.EntryPoints[i].TLSOptions != "" {
				msg += " (from entry point " + b.opts.EntryPoints[i].Name + ")"
			}
			b.problem(config.Problem{Kind: config.KindRouter, Name: name, Field: "tls.options", Message: msg})
		}
	}
}

// clientAuthOptions returns, by entry point index, the TLS configuration
// of the options router name asks for on each of eps where they require
// client certificates; nil when they require none anywhere.
func (b *builder) clientAuthOptions(name string, def *config.Router, eps []int) []*tls.Config {
	var out []*tls.Config
	for _, i := range eps {
		if def.TLS == nil && !b.opts.EntryPoints[i].TLS {
			continue
		}
		bo, err := b.resolveTLSOptions(b.routerTLSRef(name, def, i))
		if err != nil || bo.http == nil || bo.http.ClientAuth == tls.NoClientCert {
			continue
		}
		if out == nil {
			out = make([]*tls.Config, len(b.opts.EntryPoints))
		}
		out[i] = bo.http
	}
	return out
}

// tcpRouterTLS returns the configuration of the handshakes a TCP router
// terminates, nil when it terminates none (or when Build has no
// certificates to give: the entry point's own picker is used). Missing or
// disabled options disable the router, passthrough ones included.
func (b *builder) tcpRouterTLS(name string, def *config.TCPRouter) *tls.Config {
	if def.TLS == nil {
		return nil
	}
	bo, err := b.resolveTLSOptions(def.TLS.Options)
	if err != nil {
		b.problem(config.Problem{Kind: config.KindTCPRouter, Name: name, Field: "tls.options", Message: err.Error()})
		return nil
	}
	if def.TLS.Passthrough || b.opts.TLSCertificates == nil {
		return nil
	}
	return bo.tcp
}

// selectTLS decides, per entry point, which options each server name's
// handshakes get: those of the enabled HTTP routers whose rule names the
// host. When the routers of one host ask for different options, the
// default options are used for it and each of those routers gets a
// warning (it stays enabled), as in Traefik. Names no router claims get
// the default options.
func (b *builder) selectTLS() {
	ts := b.table.tls
	fallback := ts.def
	if fallback == nil {
		fallback = ts.builtin
	}
	if !ts.hasNamedOptions() {
		// Every router gets the default options: no name needs choosing.
		for i := range b.opts.EntryPoints {
			if fallback != ts.builtin {
				ts.entries[i] = &sniSelection{def: fallback.http}
			}
		}
		b.logTLSWarnings()
		return
	}
	epIndex := make(map[string]int, len(b.opts.EntryPoints))
	for i, ep := range b.opts.EntryPoints {
		epIndex[ep.Name] = i
	}
	claims := make([]map[string]map[*builtTLSOptions][]string, len(b.opts.EntryPoints)) // ep -> host -> options -> routers
	for _, name := range b.table.names.routers {
		info, def := b.table.routers[name], b.cfg.HTTP.Routers[name]
		if info == nil || info.Status != StatusEnabled || info.rule == nil {
			continue
		}
		hosts := info.rule.Domains()
		warned := false
		for _, epName := range info.Using {
			i := epIndex[epName]
			if def.TLS == nil && !b.opts.EntryPoints[i].TLS {
				continue
			}
			bo, err := b.resolveTLSOptions(b.routerTLSRef(name, def, i))
			if err != nil {
				continue // checkRouterTLS disabled the router
			}
			if len(hosts) == 0 && bo != ts.def && !warned {
				warned = true
				b.tlsWarning(name, fmt.Sprintf("tls.options: the rule names no host, so its TLS options %q cannot be chosen "+
					"at the handshake: connections get the options of their server name's routers, or the default options%s", bo.name, clientAuthNote(bo)))
			}
			if claims[i] == nil {
				claims[i] = make(map[string]map[*builtTLSOptions][]string)
			}
			for _, h := range hosts {
				if claims[i][h] == nil {
					claims[i][h] = make(map[*builtTLSOptions][]string, 1)
				}
				claims[i][h][bo] = append(claims[i][h][bo], name)
			}
		}
	}
	for i := range b.opts.EntryPoints {
		sel := &sniSelection{def: fallback.http}
		for _, host := range sortedKeys(claims[i]) {
			chosen := fallback
			if byOptions := claims[i][host]; len(byOptions) == 1 {
				for bo := range byOptions {
					chosen = bo
				}
			} else {
				b.conflictWarnings(host, byOptions)
			}
			if chosen != fallback {
				sel.add(host, chosen.http)
			}
		}
		if len(sel.exact) > 0 || len(sel.wildcard) > 0 || fallback != ts.builtin {
			ts.entries[i] = sel
		}
	}
	b.logTLSWarnings()
}

// hasNamedOptions reports whether options other than the default ones are
// enabled.
func (ts *tlsTable) hasNamedOptions() bool {
	for name := range ts.options {
		if config.BaseName(name) != config.DefaultTLSName {
			return true
		}
	}
	return false
}

// conflictWarnings warns every router of host that asks for its own options.
func (b *builder) conflictWarnings(host string, byOptions map[*builtTLSOptions][]string) {
	var routers, names []string
	for bo, rs := range byOptions {
		routers = append(routers, rs...)
		n := bo.name
		if n == "" {
			n = config.DefaultTLSName
		}
		names = append(names, n)
	}
	slices.Sort(routers)
	slices.Sort(names)
	routers = slices.Compact(routers)
	note := ""
	for bo := range byOptions {
		if n := clientAuthNote(bo); n != "" {
			note = n
		}
	}
	for _, r := range routers {
		b.tlsWarning(r, fmt.Sprintf("tls.options: the routers of host %s (%s) ask for different TLS options (%s): "+
			"the default options are used for it%s", host, strings.Join(routers, ", "), strings.Join(names, ", "), note))
	}
}

// clientAuthNote tells what happens to requests for a router whose options
// require client certificates on a connection that did not ask for them.
func clientAuthNote(bo *builtTLSOptions) string {
	if bo.http == nil || bo.http.ClientAuth == tls.NoClientCert {
		return ""
	}
	return "; requests for a router whose options ask for client certificates are answered 421 on a connection " +
		"that did not ask for them (never served without them)"
}

// tlsWarning records a warning about an enabled router.
func (b *builder) tlsWarning(router, msg string) {
	ts := b.table.tls
	for _, w := range ts.warnings {
		if w.Name == router && w.Message == msg {
			return
		}
	}
	ts.warnings = append(ts.warnings, config.Problem{Kind: config.KindRouter, Name: router, Message: msg})
	if info := b.table.routers[router]; info != nil {
		info.Warnings = append(info.Warnings, msg)
	}
}

// logTLSWarnings logs the warnings the previous table did not have.
func (b *builder) logTLSWarnings() {
	seen := map[config.Problem]bool{}
	if b.prev != nil && b.prev.tls != nil {
		for _, w := range b.prev.tls.warnings {
			seen[w] = true
		}
	}
	for _, w := range b.table.tls.warnings {
		if !seen[w] && b.opts.Log != nil {
			b.opts.Log.Warn("TLS options of a router not applied as configured", zap.String("router", w.Name), zap.String("reason", w.Message))
		}
	}
}
