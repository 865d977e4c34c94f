package decode

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ParsePaths builds a tree from flat keys: Docker labels or Consul tags
// ("ferry.http.routers.web.rule" with sep '.') or etcd keys
// ("ferry/http/routers/web/rule" with sep '/'). Only keys under prefix
// (prefix followed by sep) are read; an empty prefix reads every key, and a
// leading sep on keys and prefix is ignored. A segment may carry list
// indexes in brackets ("servers[0]"), which is the same as separate numeric
// segments ("servers.0"); Decode turns a map with numeric keys into a list.
//
// A key that holds a value and is also the parent of other keys
// (a.b=1 and a.b.c=2) is an error naming both keys, except when the value is
// "true" (Traefik's tls=true next to tls.certresolver=...): the sub-keys then
// imply it. Keys are read in sorted order, and of two conflicting keys the
// later one is left out; the returned tree holds every other key even when
// the error is not nil.
func ParsePaths(kv map[string]string, prefix string, sep byte) (*Node, error) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	prefix = strings.TrimSuffix(strings.TrimPrefix(prefix, string(sep)), string(sep))
	root := NewMap(0)
	var errs []error
	// owner remembers which full key made each value node, for messages.
	owner := map[*Node]string{}
	for _, full := range keys {
		rest, ok := underPrefix(full, prefix, sep)
		if !ok {
			continue
		}
		segs, err := splitPath(rest, sep)
		if err != nil {
			errs = append(errs, fmt.Errorf("decode: key %q: %w", full, err))
			continue
		}
		if err := insertPath(root, segs, kv[full], full, owner); err != nil {
			errs = append(errs, err)
		}
	}
	return root, errors.Join(errs...)
}

// underPrefix returns the part of key after prefix and sep.
func underPrefix(key, prefix string, sep byte) (string, bool) {
	key = strings.TrimPrefix(key, string(sep))
	if prefix == "" {
		return key, key != ""
	}
	if len(key) <= len(prefix)+1 || !strings.HasPrefix(key, prefix) || key[len(prefix)] != sep {
		return "", false
	}
	return key[len(prefix)+1:], true
}

// splitPath splits "http.services.web.loadbalancer.servers[0].url" into
// segments, brackets becoming segments of their own.
func splitPath(path string, sep byte) ([]string, error) {
	var segs []string
	for _, part := range strings.Split(path, string(sep)) {
		name, idx, ok := strings.Cut(part, "[")
		if name == "" && !ok {
			return nil, errors.New("empty path segment")
		}
		if name != "" {
			segs = append(segs, name)
		}
		for ok {
			var num string
			num, idx, ok = strings.Cut(idx, "]")
			if !ok || num == "" || !isIndex(num) {
				return nil, fmt.Errorf("bad list index in %q", part)
			}
			segs = append(segs, num)
			if idx == "" {
				break
			}
			if idx[0] != '[' {
				return nil, fmt.Errorf("bad list index in %q", part)
			}
			idx = idx[1:]
		}
	}
	if len(segs) == 0 {
		return nil, errors.New("empty path")
	}
	return segs, nil
}

func isIndex(s string) bool {
	if len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// insertPath adds the value at segs under root.
func insertPath(root *Node, segs []string, value, full string, owner map[*Node]string) error {
	n := root
	for i, seg := range segs {
		last := i == len(segs)-1
		child := n.Map[seg]
		switch {
		case child == nil && last:
			leaf := NewScalar(value, 0)
			owner[leaf] = full
			n.Set(seg, leaf)
			return nil
		case child == nil:
			child = NewMap(0)
			n.Set(seg, child)
		case last && child.Kind == Map:
			if strings.EqualFold(value, "true") {
				return nil
			}
			return fmt.Errorf("decode: key %q has a value but %q is under it", full, anyLeaf(child, owner))
		case last:
			return fmt.Errorf("decode: keys %q and %q set the same value", owner[child], full)
		case !last && child.Kind == Scalar:
			if !strings.EqualFold(child.Value, "true") {
				return fmt.Errorf("decode: key %q has a value but %q is under it", owner[child], full)
			}
			m := NewMap(0)
			n.Map[seg] = m
			child = m
		}
		n = child
	}
	return nil
}

// anyLeaf returns the full key of some value under n.
func anyLeaf(n *Node, owner map[*Node]string) string {
	for n.Kind == Map && len(n.Keys) > 0 {
		n = n.Map[n.Keys[0]]
	}
	return owner[n]
}
