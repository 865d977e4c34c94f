package acme

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"
)

// consulStorage keeps certificates in Consul's KV store, so that replicas
// share them. A lock is a Consul lock on a session with a TTL of lockTTL
// renewed by its holder: a crashed holder's session expires and frees it.
type consulStorage struct {
	log    *zap.Logger
	client *api.Client
	layout kvLayout

	mu    sync.Mutex
	locks map[string]*api.Lock
}

var _ certmagic.Storage = (*consulStorage)(nil)

func newConsulStorage(log *zap.Logger, su StorageURL) (*consulStorage, error) {
	cfg := api.DefaultConfig() // CONSUL_HTTP_TOKEN and friends apply
	cfg.Address = su.Endpoints[0]
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("acme: storage consul %s: %w", su.Endpoints[0], err)
	}
	return &consulStorage{log: log, client: c, layout: kvLayout{prefix: su.Prefix}, locks: map[string]*api.Lock{}}, nil
}

// Lock blocks until it holds the lock name or ctx ends.
func (s *consulStorage) Lock(ctx context.Context, name string) error {
	l, err := s.client.LockOpts(&api.LockOptions{
		Key:         s.layout.lockKey(name),
		SessionName: "ferry acme " + name,
		SessionTTL:  lockTTL.String(),
		LockDelay:   time.Second,
		// Bounds each wait for the key, so that ctx ending is seen soon.
		LockWaitTime: time.Second,
	})
	if err != nil {
		return fmt.Errorf("acme: storage consul: lock %s: %w", name, err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			close(stop)
		case <-done:
		}
	}()
	lost, err := l.Lock(stop)
	close(done)
	if err != nil {
		return fmt.Errorf("acme: storage consul: lock %s: %w", name, err)
	}
	if lost == nil { // stopped by ctx before acquiring
		return fmt.Errorf("acme: storage consul: lock %s: %w", name, context.Cause(ctx))
	}
	s.mu.Lock()
	s.locks[name] = l
	s.mu.Unlock()
	return nil
}

// Unlock releases the lock name held by this process.
func (s *consulStorage) Unlock(_ context.Context, name string) error {
	s.mu.Lock()
	l := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("acme: storage consul: unlock %s: not locked", name)
	}
	if err := l.Unlock(); err != nil {
		return fmt.Errorf("acme: storage consul: unlock %s: %w", name, err)
	}
	_ = l.Destroy() // fails while another replica waits for the key: fine
	return nil
}

// Store writes a value; its modification time goes in the pair's flags.
func (s *consulStorage) Store(ctx context.Context, key string, value []byte) error {
	p := &api.KVPair{Key: s.layout.dataKey(key), Value: value, Flags: uint64(time.Now().UnixNano())}
	if _, err := s.client.KV().Put(p, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("acme: storage consul: store %s: %w", key, err)
	}
	return nil
}

// Load reads a value; a missing key is fs.ErrNotExist.
func (s *consulStorage) Load(ctx context.Context, key string) ([]byte, error) {
	p, _, err := s.client.KV().Get(s.layout.dataKey(key), s.query(ctx))
	if err != nil {
		return nil, fmt.Errorf("acme: storage consul: load %s: %w", key, err)
	}
	if p == nil {
		return nil, fmt.Errorf("acme: storage consul: load %s: %w", key, fs.ErrNotExist)
	}
	return p.Value, nil
}

// Delete removes a key and everything under it.
func (s *consulStorage) Delete(ctx context.Context, key string) error {
	ops := api.KVTxnOps{
		{Verb: api.KVDelete, Key: s.layout.dataKey(key)},
		{Verb: api.KVDeleteTree, Key: s.layout.dataDir(key)},
	}
	ok, resp, _, err := s.client.KV().Txn(ops, s.query(ctx))
	if err != nil {
		return fmt.Errorf("acme: storage consul: delete %s: %w", key, err)
	}
	if !ok && resp != nil && len(resp.Errors) > 0 {
		return fmt.Errorf("acme: storage consul: delete %s: %s", key, resp.Errors[0].What)
	}
	return nil
}

// Exists reports whether a key or anything under it exists.
func (s *consulStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys under path.
func (s *consulStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	keys, _, err := s.client.KV().Keys(s.layout.dataDir(path), "", s.query(ctx))
	if err != nil {
		return nil, fmt.Errorf("acme: storage consul: list %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("acme: storage consul: list %s: %w", path, fs.ErrNotExist)
	}
	return s.layout.listKeys(path, keys, recursive), nil
}

// Stat describes a key, or a "directory" with keys under it.
func (s *consulStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	p, _, err := s.client.KV().Get(s.layout.dataKey(key), s.query(ctx))
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage consul: stat %s: %w", key, err)
	}
	if p != nil {
		return certmagic.KeyInfo{Key: key, Modified: time.Unix(0, int64(p.Flags)), Size: int64(len(p.Value)), IsTerminal: true}, nil
	}
	keys, _, err := s.client.KV().Keys(s.layout.dataDir(key), "", s.query(ctx))
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage consul: stat %s: %w", key, err)
	}
	if len(keys) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage consul: stat %s: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

func (s *consulStorage) query(ctx context.Context) *api.QueryOptions {
	return (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx)
}

// String names the storage in certmagic's logs.
func (s *consulStorage) String() string { return "consul:" + s.layout.prefix }
