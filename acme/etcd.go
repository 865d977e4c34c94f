package acme

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// etcdStorage keeps certificates in etcd, so that replicas share them. A
// lock is an etcd mutex on a lease of lockTTL kept alive by its holder: a
// crashed holder's lock frees itself when the lease expires.
type etcdStorage struct {
	log    *zap.Logger
	client *clientv3.Client
	layout kvLayout

	mu    sync.Mutex
	locks map[string]*etcdLock
}

type etcdLock struct {
	session *concurrency.Session
	mutex   *concurrency.Mutex
}

var _ certmagic.Storage = (*etcdStorage)(nil)

func newEtcdStorage(log *zap.Logger, su StorageURL) (*etcdStorage, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: su.Endpoints, DialTimeout: 5 * time.Second, Logger: log.Named("client")})
	if err != nil {
		return nil, fmt.Errorf("acme: storage etcd %v: %w", su.Endpoints, err)
	}
	return &etcdStorage{log: log, client: c, layout: kvLayout{prefix: su.Prefix}, locks: map[string]*etcdLock{}}, nil
}

func (s *etcdStorage) close() {
	s.mu.Lock()
	for name, l := range s.locks {
		_ = l.session.Close()
		delete(s.locks, name)
	}
	s.mu.Unlock()
	_ = s.client.Close()
}

// Lock blocks until it holds the lock name or ctx ends.
func (s *etcdStorage) Lock(ctx context.Context, name string) error {
	session, err := concurrency.NewSession(s.client, concurrency.WithTTL(int(lockTTL/time.Second)))
	if err != nil {
		return fmt.Errorf("acme: storage etcd: lock %s: %w", name, err)
	}
	m := concurrency.NewMutex(session, s.layout.lockKey(name))
	if err := m.Lock(ctx); err != nil {
		_ = session.Close()
		return fmt.Errorf("acme: storage etcd: lock %s: %w", name, err)
	}
	s.mu.Lock()
	s.locks[name] = &etcdLock{session: session, mutex: m}
	s.mu.Unlock()
	return nil
}

// Unlock releases the lock name held by this process.
func (s *etcdStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	l := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("acme: storage etcd: unlock %s: not locked", name)
	}
	err := l.mutex.Unlock(ctx)
	_ = l.session.Close()
	if err != nil {
		return fmt.Errorf("acme: storage etcd: unlock %s: %w", name, err)
	}
	return nil
}

// Store writes a value.
func (s *etcdStorage) Store(ctx context.Context, key string, value []byte) error {
	if _, err := s.client.Put(ctx, s.layout.dataKey(key), string(envelope(value, time.Now()))); err != nil {
		return fmt.Errorf("acme: storage etcd: store %s: %w", key, err)
	}
	return nil
}

// Load reads a value; a missing key is fs.ErrNotExist.
func (s *etcdStorage) Load(ctx context.Context, key string) ([]byte, error) {
	resp, err := s.client.Get(ctx, s.layout.dataKey(key))
	if err != nil {
		return nil, fmt.Errorf("acme: storage etcd: load %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("acme: storage etcd: load %s: %w", key, fs.ErrNotExist)
	}
	v, _, err := openEnvelope(resp.Kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("acme: storage etcd: load %s: %w", key, err)
	}
	return v, nil
}

// Delete removes a key and everything under it.
func (s *etcdStorage) Delete(ctx context.Context, key string) error {
	_, err := s.client.Txn(ctx).Then(
		clientv3.OpDelete(s.layout.dataKey(key)),
		clientv3.OpDelete(s.layout.dataDir(key), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return fmt.Errorf("acme: storage etcd: delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether a key or anything under it exists.
func (s *etcdStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys under path.
func (s *etcdStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	resp, err := s.client.Get(ctx, s.layout.dataDir(path), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("acme: storage etcd: list %s: %w", path, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("acme: storage etcd: list %s: %w", path, fs.ErrNotExist)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return s.layout.listKeys(path, keys, recursive), nil
}

// Stat describes a key, or a "directory" with keys under it.
func (s *etcdStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	resp, err := s.client.Get(ctx, s.layout.dataKey(key))
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage etcd: stat %s: %w", key, err)
	}
	if len(resp.Kvs) > 0 {
		v, mod, err := openEnvelope(resp.Kvs[0].Value)
		if err != nil {
			return certmagic.KeyInfo{}, fmt.Errorf("acme: storage etcd: stat %s: %w", key, err)
		}
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	dir, err := s.client.Get(ctx, s.layout.dataDir(key), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage etcd: stat %s: %w", key, err)
	}
	if dir.Count == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("acme: storage etcd: stat %s: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// String names the storage in certmagic's logs.
func (s *etcdStorage) String() string { return "etcd:" + s.layout.prefix }
