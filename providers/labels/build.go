// Package labels turns one workload's labels into configuration: the grammar
// shared by Docker labels and Consul catalog tags
// (ferry.http.routers.web.rule=Host(`example.com`)), plus the implicit
// defaults users know from Traefik: a service named after the workload, a
// router with the default rule, the router's service filled in, the port
// taken from the single exposed port.
//
// Build reads one workload (a container, a service instance) and Merge
// combines the results of many, joining the servers of replicas. Both are
// pure functions: no I/O, no provider types.
package labels

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// DefaultRule is the default of the defaultRule option.
const DefaultRule = "Host(`{{ normalize .Name }}`)"

// Workload is one source of labels and the server it describes.
type Workload struct {
	// Name is the workload's name: the default service and router name and
	// .Name in the default rule (Docker: the container name, or
	// <service>-<project> for compose containers).
	Name string
	// ContainerName is .ContainerName in the default rule.
	ContainerName string
	// Labels are the flat labels; Consul tags k=v are turned into a map first.
	Labels map[string]string
	// Host is where the workload's servers are reached (an IP or host name).
	Host string
	// Ports are the exposed ports; the single one is used when no port
	// label is set.
	Ports []string
	// Published, when not nil, maps a port to the host:port it is reached
	// at instead of Host:port (Docker's useBindPortIP).
	Published map[string]string
	// Origin names the workload in problems and logs, e.g. container "web-1".
	Origin string
	// NoServers serves the workload's objects without its own server (a
	// stopped or unhealthy container with allowNonRunning or
	// allowEmptyServices): its services answer 503 until a replica is up.
	NoServers bool
}

// Options are a provider's fixed settings.
type Options struct {
	// Prefix is the label prefix, e.g. ferry or traefik.
	Prefix string
	// DefaultRule is the rule of implicit routers; see ParseDefaultRule.
	DefaultRule *template.Template
	// ExposedByDefault serves workloads without an enable label.
	ExposedByDefault bool
	// ProviderKeys are keys directly under the prefix that the provider
	// reads itself (docker, consulcatalog); they are not configuration.
	ProviderKeys []string
}

// ruleData is what the default rule template sees.
type ruleData struct {
	Name          string
	ContainerName string
	Labels        map[string]string
}

// ParseDefaultRule compiles a default rule template. It sees .Name,
// .ContainerName and .Labels, and the function normalize.
func ParseDefaultRule(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultRule
	}
	t, err := template.New("defaultRule").Funcs(template.FuncMap{"normalize": Normalize}).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("labels: defaultRule: %w", err)
	}
	return t, nil
}

// Normalize replaces every run of characters other than letters and digits
// with a dash, e.g. "web_1.app" becomes "web-1-app".
func Normalize(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), "-")
}

// Enabled reports whether the workload is served: its enable label, else
// exposedByDefault. A bad value is a problem and the workload is not served.
func Enabled(labels map[string]string, o Options) (bool, *config.Problem) {
	key, v, ok := lookup(labels, o.Prefix+".enable")
	if !ok {
		return o.ExposedByDefault, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, &config.Problem{Kind: config.KindSource, Field: key,
			Message: fmt.Sprintf("label %s=%q: not true or false", key, v)}
	}
	return b, nil
}

// builder holds one Build call.
type builder struct {
	w        Workload
	o        Options
	cfg      *config.Config
	problems []config.Problem
}

// Build turns one workload's labels into its configuration and the problems
// found, each naming the label and its value. It returns a nil
// configuration when the workload is not enabled. Objects named in a
// problem are kept, so that the router disables them with the reason.
func Build(w Workload, o Options) (*config.Config, []config.Problem) {
	b := &builder{w: w, o: o, cfg: &config.Config{}}
	on, p := Enabled(w.Labels, o)
	if p != nil {
		p.Name, p.Origin = w.Origin, w.Origin
		return nil, []config.Problem{*p}
	}
	if !on {
		return nil, nil
	}
	tree, err := decode.ParsePaths(w.Labels, o.Prefix, '.')
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			b.source("", strings.TrimPrefix(line, "decode: "))
		}
	}
	tree.Remove("enable")
	for _, k := range o.ProviderKeys {
		tree.Remove(k)
	}
	httpShortcuts := b.takeServerShortcuts(tree, "http")
	tcpShortcuts := b.takeServerShortcuts(tree, "tcp")
	udpShortcuts := b.takeServerShortcuts(tree, "udp")
	for _, e := range decode.Decode(tree, b.cfg) {
		b.decodeProblem(e)
	}
	tcp := len(b.cfg.TCP.Routers) > 0 || len(b.cfg.TCP.Services) > 0
	if tcp {
		b.tcpDefaults(tcpShortcuts)
	}
	udp := len(b.cfg.UDP.Routers) > 0 || len(b.cfg.UDP.Services) > 0
	if udp {
		b.udpDefaults(udpShortcuts)
	}
	h := b.cfg.HTTP
	if !tcp && !udp || len(h.Routers) > 0 || len(h.Services) > 0 || len(h.Middlewares) > 0 {
		b.defaultService()
		b.fillServers(httpShortcuts)
		b.defaultRouter()
	}
	config.SortProblems(b.problems)
	return b.cfg, b.problems
}

// server is the label-only loadbalancer.server section of one service.
type server struct {
	port, url, scheme, weight *decode.Node
	path                      []string // <section> services <name> loadbalancer server
}

// shortcutKeys are the keys allowed under loadbalancer.server, per section.
var shortcutKeys = map[string][]string{"http": {"port", "url", "scheme", "weight"}, "tcp": {"port", "weight"}, "udp": {"port", "weight"}}

// takeServerShortcuts removes <section>.services.<s>.loadbalancer.server
// from the tree and returns it by service name.
func (b *builder) takeServerShortcuts(tree *decode.Node, section string) map[string]*server {
	out := map[string]*server{}
	kind := serviceKind[section]
	allowed := shortcutKeys[section]
	var sectionKey string
	for _, k := range tree.Keys {
		if strings.EqualFold(k, section) {
			sectionKey = k
		}
	}
	services := tree.Get(section).Get("services")
	if services == nil || services.Kind != decode.Map {
		return out
	}
	for _, name := range services.Keys {
		lbKey, lb := "", (*decode.Node)(nil)
		for _, k := range services.Map[name].Keys {
			if strings.EqualFold(k, "loadbalancer") {
				lbKey, lb = k, services.Map[name].Map[k]
			}
		}
		srv := lb.Remove("server")
		if srv == nil {
			continue
		}
		s := &server{path: []string{sectionKey, "services", name, lbKey, "server"}}
		if srv.Kind != decode.Map {
			b.labelProblem(kind, name, s.path, "want "+strings.Join(allowed, ", ")+" under it")
			continue
		}
		for _, k := range srv.Keys {
			key := strings.ToLower(k)
			if !slices.Contains(allowed, key) {
				b.labelProblem(kind, name, append(slices.Clip(s.path), k), "unknown key (want "+strings.Join(allowed, ", ")+")")
				continue
			}
			switch key {
			case "port":
				s.port = srv.Map[k]
			case "url":
				s.url = srv.Map[k]
			case "scheme":
				s.scheme = srv.Map[k]
			case "weight":
				s.weight = srv.Map[k]
			}
		}
		out[name] = s
		if len(lb.Keys) == 0 {
			// Only the shortcut was set: keep an empty loadbalancer so the
			// service still decodes as a load balancer.
			services.Map[name].Set(lbKey, decode.NewMap(0))
		}
	}
	return out
}

// defaultService adds a service named after the workload when none is labelled.
func (b *builder) defaultService() {
	if len(b.cfg.HTTP.Services) > 0 {
		return
	}
	b.cfg.HTTP.Services = map[string]*config.Service{b.w.Name: {LoadBalancer: &config.LoadBalancer{}}}
}

// fillServers gives every load balancer without servers the workload's server.
func (b *builder) fillServers(shortcuts map[string]*server) {
	for name, svc := range b.cfg.HTTP.Services {
		s := shortcuts[name]
		if svc.LoadBalancer == nil {
			if s == nil {
				continue
			}
			svc.LoadBalancer = &config.LoadBalancer{}
		}
		if len(svc.LoadBalancer.Servers) > 0 {
			continue
		}
		if s == nil {
			s = &server{path: []string{"http", "services", name, "loadbalancer", "server"}}
		}
		srv, ok := b.server(name, s)
		if ok {
			svc.LoadBalancer.Servers = []config.Server{srv}
		}
	}
}

// server builds the workload's HTTP server for one service.
func (b *builder) server(name string, s *server) (config.Server, bool) {
	var srv config.Server
	if b.w.NoServers {
		return srv, false
	}
	var ok bool
	if srv.Weight, ok = b.weight(config.KindService, name, s); !ok {
		return srv, false
	}
	if s.url != nil {
		srv.URL = strings.TrimSpace(s.url.Value)
		return srv, true
	}
	scheme := "http"
	if s.scheme != nil {
		scheme = strings.ToLower(strings.TrimSpace(s.scheme.Value))
		if scheme != "http" && scheme != "https" && scheme != "h2c" {
			b.labelProblem(config.KindService, name, append(slices.Clip(s.path), "scheme"), "scheme must be http, https or h2c")
			return srv, false
		}
	}
	hostport, ok := b.hostPort(config.KindService, name, s)
	srv.URL = scheme + "://" + hostport
	return srv, ok
}

// weight reads the weight shortcut, nil when unset.
func (b *builder) weight(kind config.Kind, name string, s *server) (*int, bool) {
	if s.weight == nil {
		return nil, true
	}
	w, err := strconv.Atoi(strings.TrimSpace(s.weight.Value))
	if err != nil || w < 0 {
		b.labelProblem(kind, name, append(slices.Clip(s.path), "weight"), "not a weight (a whole number, 0 or more)")
		return nil, false
	}
	return &w, true
}

// hostPort is where the workload serves one service: Host and the port from
// the port label or the single exposed port, or the published address.
func (b *builder) hostPort(kind config.Kind, name string, s *server) (string, bool) {
	var port string
	if b.w.NoServers {
		return "", false
	}
	switch {
	case s.port != nil:
		port = strings.TrimSpace(s.port.Value)
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			b.labelProblem(kind, name, append(slices.Clip(s.path), "port"), "not a port number")
			return "", false
		}
	case len(b.w.Ports) == 1:
		port = b.w.Ports[0]
	case len(b.w.Ports) > 1:
		port = b.lowestPort(s) // defaults.go: as Traefik, with a warning
	default:
		label := b.o.Prefix + "." + decode.JoinPath(append(slices.Clip(s.path), "port"))
		b.add(config.Problem{Kind: kind, Name: name, Field: "loadBalancer.server.port", Message: "no port: the workload exposes no port; set label " + label})
		return "", false
	}
	if b.w.Published != nil {
		pub, ok := b.w.Published[port]
		if !ok {
			b.add(config.Problem{Kind: kind, Name: name, Field: "loadBalancer.server.port",
				Message: fmt.Sprintf("port %s is not published on the host", port)})
			return "", false
		}
		return pub, true
	}
	return net.JoinHostPort(b.w.Host, port), true
}

// defaultRouter adds a router with the default rule when none is labelled,
// fills in empty rules and services, and checks every rule.
func (b *builder) defaultRouter() {
	implicit := len(b.cfg.HTTP.Routers) == 0
	if implicit {
		b.cfg.HTTP.Routers = map[string]*config.Router{b.w.Name: {}}
	}
	for name, r := range b.cfg.HTTP.Routers {
		path := []string{"http", "routers", name}
		if r.Rule == "" {
			var buf bytes.Buffer
			if b.o.DefaultRule == nil {
				b.o.DefaultRule, _ = ParseDefaultRule("")
			}
			err := b.o.DefaultRule.Execute(&buf, ruleData{Name: b.w.Name, ContainerName: b.w.ContainerName, Labels: b.w.Labels})
			if err != nil {
				b.add(config.Problem{Kind: config.KindRouter, Name: name, Field: "rule", Message: "default rule: " + err.Error()})
			}
			r.Rule = buf.String()
			if strings.TrimSpace(r.Rule) == "" && b.noDefaultRule(name, implicit) { // defaults.go
				continue
			}
		} else if err := checkRule(r.Rule, r.RuleSyntax, false); err != nil { // rules.go
			b.labelProblem(config.KindRouter, name, append(slices.Clip(path), "rule"), err.Error())
		}
		if r.Service == "" {
			switch len(b.cfg.HTTP.Services) {
			case 1:
				for s := range b.cfg.HTTP.Services {
					r.Service = s
				}
			default:
				names := slices.Sorted(maps.Keys(b.cfg.HTTP.Services))
				b.add(config.Problem{Kind: config.KindRouter, Name: name, Field: "service",
					Message: fmt.Sprintf("no service: the workload defines %d services (%s); set label %s.http.routers.%s.service",
						len(names), strings.Join(names, ", "), b.o.Prefix, name)})
			}
		}
	}
}
