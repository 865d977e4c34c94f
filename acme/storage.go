package acme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// lockTTL is how long a crashed replica's lock outlives it: the lease
// (etcd) or session (Consul) behind a lock expires this long after its
// holder stops renewing it.
const lockTTL = 10 * time.Second

// StorageURL is a parsed storage setting: a directory, or a cluster store
// at etcd://host:port[,host:port...]/prefix or consul://host:port/prefix.
type StorageURL struct {
	// Kind is "file", "etcd" or "consul".
	Kind string
	// Path is the directory of the file kind.
	Path string
	// Endpoints are the cluster store's host:port addresses.
	Endpoints []string
	// Prefix is the key prefix under which everything is stored, without
	// leading or trailing slash.
	Prefix string
}

// defaultPrefix is the key prefix of cluster storage when none is given.
const defaultPrefix = "ferry/acme"

// ParseStorage parses a storage setting. Anything without "://" is a
// directory.
func ParseStorage(s string) (StorageURL, error) {
	if !strings.Contains(s, "://") {
		return StorageURL{Kind: "file", Path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return StorageURL{}, fmt.Errorf("storage %q: %w", s, err)
	}
	if u.Scheme != "etcd" && u.Scheme != "consul" {
		return StorageURL{}, fmt.Errorf("storage %q: scheme %q is not etcd or consul (or a directory)", s, u.Scheme)
	}
	out := StorageURL{Kind: u.Scheme, Prefix: strings.Trim(u.Path, "/")}
	if out.Prefix == "" {
		out.Prefix = defaultPrefix
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h != "" {
			out.Endpoints = append(out.Endpoints, h)
		}
	}
	if len(out.Endpoints) == 0 {
		return StorageURL{}, fmt.Errorf("storage %q: no host:port", s)
	}
	if u.Scheme == "consul" && len(out.Endpoints) > 1 {
		return StorageURL{}, fmt.Errorf("storage %q: consul takes one agent address", s)
	}
	return out, nil
}

// OpenStorage returns the certmagic storage for a storage setting, and a
// function that releases its connections.
func OpenStorage(log *zap.Logger, s string) (certmagic.Storage, func(), error) {
	su, err := ParseStorage(s)
	if err != nil {
		return nil, nil, err
	}
	switch su.Kind {
	case "etcd":
		st, err := newEtcdStorage(log.Named("storage.etcd"), su)
		if err != nil {
			return nil, nil, err
		}
		return st, st.close, nil
	case "consul":
		st, err := newConsulStorage(log.Named("storage.consul"), su)
		if err != nil {
			return nil, nil, err
		}
		return st, func() {}, nil
	}
	return &certmagic.FileStorage{Path: su.Path}, func() {}, nil
}

// kvLayout maps certmagic's keys and lock names to a key-value store's
// keys: data under <prefix>/data/, locks under <prefix>/locks/.
type kvLayout struct{ prefix string }

func (l kvLayout) dataKey(key string) string { return l.prefix + "/data/" + strings.Trim(key, "/") }

func (l kvLayout) dataDir(path string) string {
	p := strings.Trim(path, "/")
	if p == "" {
		return l.prefix + "/data/"
	}
	return l.prefix + "/data/" + p + "/"
}

func (l kvLayout) lockKey(name string) string { return l.prefix + "/locks/" + strings.Trim(name, "/") }

// fromData turns a store key back into certmagic's key.
func (l kvLayout) fromData(storeKey string) string {
	return strings.TrimPrefix(storeKey, l.prefix+"/data/")
}

// listKeys returns what List returns for path given every store key under
// it: all of them (recursive) or the distinct first levels below path.
func (l kvLayout) listKeys(path string, storeKeys []string, recursive bool) []string {
	base := strings.Trim(path, "/")
	seen := map[string]bool{}
	var out []string
	for _, sk := range storeKeys {
		k := l.fromData(sk)
		if !recursive {
			rest := strings.TrimPrefix(strings.TrimPrefix(k, base), "/")
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			if base != "" {
				k = base + "/" + rest
			} else {
				k = rest
			}
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// envelope prefixes a value with its modification time, which neither
// etcd nor Consul keep as a time.
func envelope(value []byte, modified time.Time) []byte {
	out := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(out, uint64(modified.UnixNano()))
	copy(out[8:], value)
	return out
}

var errEnvelope = errors.New("value too short: not written by ferry")

// openEnvelope splits a stored value into its content and time.
func openEnvelope(stored []byte) ([]byte, time.Time, error) {
	if len(stored) < 8 {
		return nil, time.Time{}, errEnvelope
	}
	return stored[8:], time.Unix(0, int64(binary.BigEndian.Uint64(stored))), nil
}
