package configs

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
)

// EnvPrefix starts the names of the environment variables that set the
// static configuration: FERRY_ENTRYPOINTS_WEB_ADDRESS is entryPoints.web.address.
const EnvPrefix = "FERRY_"

// envEntries reads the static configuration variables of environ
// ("NAME=value" strings, as os.Environ returns them).
//
// Names are case-insensitive. Underscores separate keys, as in Traefik's
// TRAEFIK_* variables. A variable is read when its first key after FERRY_ is
// a top-level key (ENTRYPOINTS, PROVIDERS, API, LOG, …); below that every
// key must exist, or the variable is a problem naming it. Other FERRY_
// variables are left alone, as Traefik leaves other TRAEFIK_ variables:
// Kubernetes gives every pod FERRY_PORT, FERRY_SERVICE_HOST… for a service
// named ferry, and test tools use FERRY_* names of their own. A first key
// one or two letters away from a top-level key (FERRY_ENTRYPOINT_…) is a
// problem with the likely spelling.
//
// A name chosen by the user (an entry point, a resolver) may hold
// underscores: the schema decides where it ends, the shortest name after
// which the rest of the variable is a valid path
// (FERRY_ENTRYPOINTS_WEB_SECURE_ADDRESS is entry point web_secure). Such a
// name is lower-cased when written all in capitals, as Traefik does, and
// kept as written otherwise (FERRY_ENTRYPOINTS_webSecure_ADDRESS); it also
// matches a name of the file in any case.
func envEntries(environ []string) ([]entry, []string) {
	var out []entry
	var problems []string
	roots := rootKeys()
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if len(name) <= len(EnvPrefix) || !strings.EqualFold(name[:len(EnvPrefix)], EnvPrefix) {
			continue
		}
		segs := strings.Split(name[len(EnvPrefix):], "_")
		if !containsFold(roots, segs[0]) {
			if s := decode.Suggest(segs[0], roots); s != "" {
				fixed := append([]string{s}, segs[1:]...)
				problems = append(problems, fmt.Sprintf("%s: unknown key %q (did you mean %s?)", name, segs[0], envSpelling(fixed)))
			}
			continue
		}
		if slicesContainsEmpty(segs) {
			problems = append(problems, fmt.Sprintf("%s: empty key in the name (two underscores in a row?)", name))
			continue
		}
		path, ok := envPath(staticType(), segs)
		if !ok && serviceLink.MatchString(name) {
			continue // FERRY_API_SERVICE_HOST: Kubernetes' link to a Service "ferry-api"
		}
		if !ok {
			path = segs // an unknown key: decoding names it
		}
		out = append(out, entry{name: name, path: path, value: value, spell: envSpelling})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, problems
}

// serviceLink matches the variables Kubernetes gives a pod for every
// Service of its namespace (<NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT[_<port>],
// <NAME>_PORT[_<n>_<proto>[_PROTO|_PORT|_ADDR]]): a Service named
// ferry-api or ferry-metrics makes FERRY_API_… and FERRY_METRICS_… ones.
var serviceLink = regexp.MustCompile(`(?i)_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

// envPath groups the parts of a variable name into keys, guided by the
// schema type t; false when no grouping is a valid path.
func envPath(t reflect.Type, segs []string) ([]string, bool) {
	if len(segs) == 0 {
		return nil, true
	}
	if isMap(t) {
		elem, _ := step(t, "x")
		for n := 1; n <= len(segs); n++ {
			if n == len(segs) && !takesValue(elem) {
				break // FERRY_ENTRYPOINTS_WEB_ADRESS is not an entry point "web_adress"
			}
			rest, ok := envPath(elem, segs[n:])
			if ok {
				return append([]string{mapKey(segs[:n])}, rest...), true
			}
		}
		return nil, false
	}
	next, ok := step(t, segs[0])
	if !ok {
		return nil, false
	}
	rest, ok := envPath(next, segs[1:])
	if !ok {
		return nil, false
	}
	return append([]string{segs[0]}, rest...), true
}

// mapKey joins the parts of a user-chosen name; a name written all in
// capitals is lower-cased.
func mapKey(parts []string) string {
	k := strings.Join(parts, "_")
	if k == strings.ToUpper(k) {
		return strings.ToLower(k)
	}
	return k
}

// envSpelling writes a key path as a variable name:
// FERRY_ENTRYPOINTS_WEB_ADDRESS.
func envSpelling(path []string) string {
	return EnvPrefix + strings.ToUpper(strings.Join(path, "_"))
}

// takesValue reports whether t is set from one value: a value type or a
// list of them (comma-separated).
func takesValue(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice {
		return decode.IsValueType(t.Elem())
	}
	return decode.IsValueType(t)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func slicesContainsEmpty(segs []string) bool {
	for _, s := range segs {
		if s == "" {
			return true
		}
	}
	return false
}
