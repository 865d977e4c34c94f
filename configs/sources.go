package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/decode"
)

// Sources are the places a static configuration is read from, in
// increasing precedence: a file, environment variables, flags. Each is laid
// over the one before, key by key, so a flag changes one key of the file
// and leaves the others. Without any of them, the embedded default is used;
// with flags or variables alone, they are the whole configuration (the
// default is not under them), as in Traefik.
type Sources struct {
	// File is the static configuration file (YAML), "" for none.
	File string
	// Environ is the environment as os.Environ returns it; the FERRY_*
	// variables are read (see EnvPrefix).
	Environ []string
	// Flags are the configuration flags (see SplitArgs).
	Flags []Flag
}

// entry is one key set by a flag or an environment variable.
type entry struct {
	name  string   // as written: --api.insecure or FERRY_API_INSECURE
	path  []string // the key path, list indexes as "0"
	value string
	// spell writes a key path the way name is written, for suggestions.
	spell func([]string) string
}

// LoadSources reads, merges and checks the static configuration of src.
// It returns the configuration, every problem (a flag or variable in
// error is named as written, with the likely spelling of an unknown key),
// and the name of what was read ("ferry.yaml + environment + flags"; ""
// for the embedded default). Relative paths are resolved against the
// file's directory, whichever source sets them, and against the working
// directory without a file.
func LoadSources(src Sources) (*Static, []string, string) {
	envs, problems := envEntries(src.Environ)
	flags, fp := flagEntries(src.Flags)
	problems = append(problems, fp...)
	var parts []string
	if src.File != "" {
		parts = append(parts, src.File)
	}
	if len(envs) > 0 {
		parts = append(parts, "environment")
	}
	if len(flags) > 0 || len(src.Flags) > 0 {
		parts = append(parts, "flags")
	}
	name := strings.Join(parts, " + ")
	if src.File == "" && len(envs) == 0 && len(flags) == 0 {
		if len(problems) > 0 {
			if name == "" {
				name = "environment"
			}
			return nil, problems, name
		}
		s, p := Default()
		return s, p, ""
	}
	var root *decode.Node
	dir := ""
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, append(problems, fmt.Sprintf("ferry: read static configuration: %v", err)), name
		}
		if root, err = decode.ParseYAML(data); err != nil {
			return nil, append(problems, fmt.Sprintf("%s: %v", src.File, err)), name
		}
		dir = filepath.Dir(src.File)
	}
	for _, group := range [][]entry{envs, flags} {
		tree, p := entriesTree(group)
		problems = append(problems, p...)
		root = mergeNode(root, tree, staticType())
	}
	if root == nil {
		root = decode.NewMap(0)
	}
	s, p := parseNode(root, name, dir)
	return s, append(problems, p...), name
}

// entriesTree checks each entry on its own, so that a problem names the
// flag or variable, and returns the tree of the good ones.
func entriesTree(es []entry) (*decode.Node, []string) {
	if len(es) == 0 {
		return nil, nil
	}
	var problems []string
	kv := map[string]string{}
	byKey := map[string]string{}
	for _, e := range es {
		if p := checkEntry(e); len(p) > 0 {
			problems = append(problems, p...)
			continue
		}
		k := strings.Join(e.path, ".")
		kv[k], byKey[k] = e.value, e.name
	}
	tree, err := decode.ParsePaths(kv, "", '.')
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			for k, n := range byKey { // name the flags and variables, not their paths
				line = strings.ReplaceAll(line, strconv.Quote(k), n)
			}
			problems = append(problems, strings.TrimPrefix(line, "decode: "))
		}
	}
	return tree, problems
}

// checkEntry decodes one entry alone into the schema and returns its
// problems, each naming the entry as written.
func checkEntry(e entry) []string {
	tree := decode.NewScalar(e.value, 0)
	for i := len(e.path) - 1; i >= 0; i-- {
		m := decode.NewMap(0)
		m.Set(e.path[i], tree)
		tree = m
	}
	var problems []string
	for _, de := range decode.Decode(tree, &Static{}) {
		msg := de.Msg
		if msg == "unknown key" && len(de.Keys) > 0 {
			keys := make([]string, len(de.Keys))
			for i, k := range de.Keys {
				keys[i] = strings.Trim(k, "[]")
			}
			last := keys[len(keys)-1]
			msg = fmt.Sprintf("unknown key %q", last)
			if s := suggestKey(keys); s != "" && len(keys) <= len(e.path) {
				fixed := append(append(append([]string(nil), keys[:len(keys)-1]...), s), e.path[len(keys):]...)
				msg += fmt.Sprintf(" (did you mean %s?)", e.spell(fixed))
			}
		}
		problems = append(problems, fmt.Sprintf("%s: %s", e.name, msg))
	}
	return problems
}
