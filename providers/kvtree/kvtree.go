// Package kvtree turns the keys of a key-value store into dynamic
// configuration, for the Consul KV and etcd providers: keys mirror Ferry's
// labels with '/' between the parts, under a root key, e.g.
// ferry/http/routers/web/rule or
// ferry/http/services/web/loadbalancer/servers/0/url. It also holds what
// those providers (and the Consul catalog) share to follow a store: backoff,
// reachability logging, deduplicated sending, client TLS.
//
// A problem in one key disables the object the key belongs to, with the key
// and its value in the message; every other object is kept.
package kvtree

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// Result is the configuration that a set of keys describes.
type Result struct {
	// Config holds the decoded objects, never nil.
	Config *config.Config
	// Problems are the keys that could not be used, by object where the key
	// names one, else by source.
	Problems []config.Problem
	// Origins says which key prefix defined each object.
	Origins map[config.ObjectID]string
}

// Build decodes the keys of kv under rootKey (parts separated by '/') into
// a configuration. source names the store in problems that belong to no
// object ("etcd", "consul").
func Build(kv map[string]string, rootKey, source string) Result {
	rootKey = strings.Trim(rootKey, "/")
	n, perr := decode.ParsePaths(kv, rootKey, '/')
	res := Result{Config: &config.Config{}, Origins: map[config.ObjectID]string{}}
	if perr != nil {
		res.Problems = append(res.Problems, pathProblems(perr, rootKey, source)...)
	}
	errs := decode.Decode(n, res.Config)
	keyOf := func(keys []string) string { return JoinKey(rootKey, '/', keys) }
	res.Problems = append(res.Problems, Problems(errs, source, func(keys []string) string {
		k := keyOf(keys)
		if v, ok := kv[k]; ok {
			return fmt.Sprintf("key %q = %q", k, v)
		}
		return fmt.Sprintf("key %q", k)
	})...)
	for _, s := range sections {
		for _, name := range s.names(res.Config) {
			res.Origins[config.ObjectID{Kind: s.kind, Name: name}] = keyOf([]string{s.top, s.key, name})
		}
	}
	config.SortProblems(res.Problems)
	return res
}

// JoinKey rebuilds the key that a decode.Error's Keys point at: root, then
// the parts separated by sep, list indexes ("[0]") as plain parts.
func JoinKey(root string, sep byte, keys []string) string {
	var b strings.Builder
	b.WriteString(root)
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(strings.TrimSuffix(strings.TrimPrefix(k, "["), "]"))
	}
	return b.String()
}

// section is one kind of named object: http.routers, tcp.services…
type section struct {
	top   string // the first key: http or tcp
	key   string // routers, services, middlewares
	kind  config.Kind
	names func(c *config.Config) []string // the section's objects in c
}

// sections are the named objects that problems can be attached to.
var sections = [...]section{
	{"http", "routers", config.KindRouter, func(c *config.Config) []string { return names(c.HTTP.Routers) }},
	{"http", "services", config.KindService, func(c *config.Config) []string { return names(c.HTTP.Services) }},
	{"http", "middlewares", config.KindMiddleware, func(c *config.Config) []string { return names(c.HTTP.Middlewares) }},
	{"tcp", "routers", config.KindTCPRouter, func(c *config.Config) []string { return names(c.TCP.Routers) }},
	{"tcp", "services", config.KindTCPService, func(c *config.Config) []string { return names(c.TCP.Services) }},
	{"tcp", "middlewares", config.KindTCPMiddleware, func(c *config.Config) []string { return names(c.TCP.Middlewares) }},
	{"http", "serversTransports", config.KindServersTransport, func(c *config.Config) []string { return names(c.HTTP.ServersTransports) }},
	{"tcp", "serversTransports", config.KindTCPServersTransport, func(c *config.Config) []string { return names(c.TCP.ServersTransports) }},
	{"udp", "routers", config.KindUDPRouter, func(c *config.Config) []string { return names(c.UDP.Routers) }},
	{"udp", "services", config.KindUDPService, func(c *config.Config) []string { return names(c.UDP.Services) }},
	{"tls", "options", config.KindTLSOptions, func(c *config.Config) []string { return names(c.TLS.Options) }},
	{"tls", "stores", config.KindTLSStore, func(c *config.Config) []string { return names(c.TLS.Stores) }},
}

func names[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sectionOf returns the section that keys (http, routers, web, …) fall in.
func sectionOf(keys []string) (section, bool) {
	if len(keys) < 3 || strings.HasPrefix(keys[2], "[") {
		return section{}, false
	}
	for _, s := range sections {
		if strings.EqualFold(keys[0], s.top) && strings.EqualFold(keys[1], s.key) {
			return s, true
		}
	}
	return section{}, false
}

// Problems turns decode errors into problems: an error under
// <http|tcp>.<section>.<name> becomes a problem of that object, any other a
// problem of source. where describes the offending key (with its value) for
// the message.
func Problems(errs decode.Errors, source string, where func(keys []string) string) []config.Problem {
	var out []config.Problem
	for _, e := range errs {
		k := e.Keys
		msg := where(k) + ": " + e.Msg
		p := config.Problem{Kind: config.KindSource, Name: source, Field: e.Path, Message: msg}
		if s, ok := sectionOf(k); ok {
			p = config.Problem{Kind: s.kind, Name: k[2], Field: decode.JoinPath(k[3:]), Message: msg}
		}
		out = append(out, p)
	}
	return out
}

// pathProblems turns the errors of decode.ParsePaths (one per line, each
// naming the key first) into problems of the object the key belongs to,
// else of source.
func pathProblems(err error, rootKey, source string) []config.Problem {
	var out []config.Problem
	for _, msg := range strings.Split(err.Error(), "\n") {
		msg = strings.TrimPrefix(msg, "decode: ")
		p := config.Problem{Kind: config.KindSource, Name: source, Message: msg}
		_, rest, _ := strings.Cut(msg, " ")
		if key, err := strconv.QuotedPrefix(rest); err == nil {
			key, _ = strconv.Unquote(key)
			key = strings.TrimPrefix(strings.TrimPrefix(key, "/"), rootKey+"/")
			if s, ok := sectionOf(strings.Split(key, "/")); ok {
				p = config.Problem{Kind: s.kind, Name: strings.Split(key, "/")[2], Message: msg}
			}
		}
		out = append(out, p)
	}
	return out
}
