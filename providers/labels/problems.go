package labels

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
	"github.com/ferryproxy/ferry/router/config"
)

// sections maps the keys under http and tcp to the kind of object they hold.
var sections = map[string]map[string]config.Kind{
	"http": {"routers": config.KindRouter, "services": config.KindService, "middlewares": config.KindMiddleware,
		"serverstransports": config.KindServersTransport},
	"tcp": {"routers": config.KindTCPRouter, "services": config.KindTCPService, "serverstransports": config.KindTCPServersTransport,
		"middlewares": config.KindTCPMiddleware},
	"udp": {"routers": config.KindUDPRouter, "services": config.KindUDPService},
}

// serviceKind is the kind of a section's services.
var serviceKind = map[string]config.Kind{"http": config.KindService, "tcp": config.KindTCPService, "udp": config.KindUDPService}

func (b *builder) add(p config.Problem) {
	p.Origin = b.w.Origin
	b.problems = append(b.problems, p)
}

// source records a problem of the workload as a whole.
func (b *builder) source(field, msg string) {
	b.add(config.Problem{Kind: config.KindSource, Name: b.w.Origin, Field: field, Message: msg})
}

// labelProblem records a problem of one object, naming the label at path
// (without the prefix) and its value.
func (b *builder) labelProblem(kind config.Kind, name string, path []string, msg string) {
	b.add(config.Problem{Kind: kind, Name: name, Field: decode.JoinPath(path[3:]), Message: b.describe(path) + ": " + msg})
}

// decodeProblem turns a decode error into a problem of the object its path
// names, or of the workload.
func (b *builder) decodeProblem(e *decode.Error) {
	k := e.Keys
	if len(k) >= 3 && !strings.HasPrefix(k[2], "[") {
		if kind, ok := sections[strings.ToLower(k[0])][strings.ToLower(k[1])]; ok {
			b.labelProblem(kind, k[2], k, e.Msg)
			return
		}
	}
	b.source(e.Path, b.describe(k)+": "+e.Msg)
}

// describe names the label at path (without the prefix) and its value:
// label ferry.http.routers.web.rule="Host(`x`". When path is a section
// rather than a value, it names the first label under it.
func (b *builder) describe(path []string) string {
	key, value, ok := lookupPath(b.w.Labels, b.o.Prefix, path)
	if !ok {
		return "label " + key
	}
	if config.IsSecretName(key[strings.LastIndexAny(key, "./")+1:]) {
		value = config.RedactedText // e.g. …customrequestheaders.authorization
	}
	return fmt.Sprintf("label %s=%q", key, value)
}

// lookupPath finds the label written for path under prefix, matching
// case-insensitively and treating servers[0] like servers.0.
func lookupPath(labels map[string]string, prefix string, path []string) (key, value string, ok bool) {
	want := normKey(prefix + "." + decode.JoinPath(path))
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if normKey(k) == want {
			return k, labels[k], true
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(normKey(k), want+".") {
			return k, labels[k], true
		}
	}
	return prefix + "." + decode.JoinPath(path), "", false
}

// lookup finds a label by key, case-insensitively.
func lookup(labels map[string]string, key string) (string, string, bool) {
	if v, ok := labels[key]; ok {
		return key, v, true
	}
	for k, v := range labels {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", "", false
}

// Lookup returns the value of the label prefix.key (case-insensitive), for
// provider keys such as ferry.docker.network.
func Lookup(labels map[string]string, prefix, key string) (string, bool) {
	_, v, ok := lookup(labels, prefix+"."+key)
	return v, ok
}

func normKey(k string) string {
	k = strings.ToLower(strings.TrimPrefix(k, "."))
	k = strings.ReplaceAll(k, "]", "")
	return strings.ReplaceAll(k, "[", ".")
}
