package e2e

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/acme"
)

// clusterStores starts each real store the cluster storage supports and
// returns its storage URL.
func clusterStores(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"etcd":   func(t *testing.T) string { return "etcd://" + StartEtcd(t).Addr + "/ferry-test/acme" },
		"consul": func(t *testing.T) string { return "consul://" + StartConsul(t).Addr + "/ferry-test/acme" },
	}
}

// TestACMEClusterStorage runs two ferry processes sharing one store: one
// order reaches the CA and both serve the certificate; a replica killed
// while it holds a lock does not block the other for longer than the
// lock's TTL.
func TestACMEClusterStorage(t *testing.T) {
	t.Parallel()
	for kind, start := range clusterStores(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			storage := start(t)
			backend := acmeBackend(t, "app")
			hosts := map[string]string{"shared.ferry.test": "pebble-http"}
			var ca *pebbleCA
			a, ca := newACMEFerryFiles(t, func(web, secure string) *pebbleCA {
				return startPebble(t, web, secure, "refused.ferry.test")
			}, storage, acmeRouters(backend, hosts))
			b, _ := newACMEFerryFiles(t, func(string, string) *pebbleCA { return ca }, storage, acmeRouters(backend, hosts))
			// Pebble validates HTTP challenges on a's web entry point:
			// it must listen before either replica can order.
			a.launch()
			a.waitReady()
			b.launch()
			b.waitReady()
			a.waitValid("shared.ferry.test", ca.Roots, issueTimeout)
			b.waitValid("shared.ferry.test", ca.Roots, issueTimeout)
			time.Sleep(time.Second)
			if n := ca.Orders(); n != 1 {
				t.Errorf("pebble saw %d orders for the shared name, want 1", n)
			}
			obtained := countLines(a.Logs(), `"msg":"certificate obtained"`, "shared.ferry.test") +
				countLines(b.Logs(), `"msg":"certificate obtained"`, "shared.ferry.test")
			if obtained != 1 {
				t.Errorf("%d replicas obtained the certificate, want 1", obtained)
			}

			// A refused name: the replica that orders it holds its lock
			// while it waits to retry. Kill it: the other takes the lock
			// once the dead one's lease or session expires.
			hosts["refused.ferry.test"] = "pebble-http"
			a.writeDynamic(acmeRouters(backend, hosts))
			b.writeDynamic(acmeRouters(backend, hosts))
			locked := func(f *acmeFerry) bool {
				return countLines(f.Logs(), "lock acquired", "refused.ferry.test") > 0
			}
			deadline := time.Now().Add(issueTimeout)
			for !locked(a) && !locked(b) {
				if time.Now().After(deadline) {
					t.Fatalf("no replica took the lock for refused.ferry.test")
				}
				time.Sleep(50 * time.Millisecond)
			}
			holder, waiter := a, b
			if locked(b) {
				holder, waiter = b, a
			}
			if locked(waiter) {
				t.Fatalf("both replicas hold the lock for refused.ferry.test")
			}
			killed := time.Now()
			holder.crash()
			for !locked(waiter) {
				if time.Since(killed) > 45*time.Second {
					t.Fatalf("the surviving replica did not take the crashed one's lock within 45s")
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("%s: lock of a crashed replica taken over after %s", kind, time.Since(killed).Round(100*time.Millisecond))
			// The survivor still serves the shared certificate.
			waiter.waitValid("shared.ferry.test", ca.Roots, time.Second)
		})
	}
}

// TestACMEStorageConformance checks the cluster storages against real
// stores with the operations certmagic uses.
func TestACMEStorageConformance(t *testing.T) {
	t.Parallel()
	for kind, start := range clusterStores(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := start(t)
			s1, close1, err := acme.OpenStorage(zap.NewNop(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer close1()
			s2, close2, err := acme.OpenStorage(zap.NewNop(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer close2()
			ctx := context.Background()
			checkStorage(t, ctx, s1, s2)
		})
	}
}

func checkStorage(t *testing.T, ctx context.Context, s1, s2 certmagic.Storage) {
	before := time.Now().Add(-time.Second)
	for _, k := range []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key", "certificates/ca/b.test/b.test.crt"} {
		if err := s1.Store(ctx, k, []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s2.Load(ctx, "certificates/ca/a.test/a.test.crt"); err != nil || string(v) != "value of certificates/ca/a.test/a.test.crt" {
		t.Errorf("Load = %q, %v", v, err)
	}
	if _, err := s2.Load(ctx, "certificates/ca/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	info, err := s2.Stat(ctx, "certificates/ca/a.test/a.test.key")
	if err != nil || !info.IsTerminal || info.Size != int64(len("value of certificates/ca/a.test/a.test.key")) || info.Modified.Before(before) {
		t.Errorf("Stat(key) = %+v, %v", info, err)
	}
	if info, err := s2.Stat(ctx, "certificates/ca"); err != nil || info.IsTerminal {
		t.Errorf("Stat(dir) = %+v, %v; want a directory", info, err)
	}
	if got, err := s2.List(ctx, "certificates/ca", false); err != nil || !reflect.DeepEqual(got, []string{"certificates/ca/a.test", "certificates/ca/b.test"}) {
		t.Errorf("List = %v, %v", got, err)
	}
	if got, err := s2.List(ctx, "certificates", true); err != nil || len(got) != 3 {
		t.Errorf("List(recursive) = %v, %v", got, err)
	}
	if err := s2.Delete(ctx, "certificates/ca/a.test"); err != nil {
		t.Fatal(err)
	}
	if s1.Exists(ctx, "certificates/ca/a.test/a.test.crt") || !s1.Exists(ctx, "certificates/ca/b.test/b.test.crt") {
		t.Errorf("Delete removed the wrong keys")
	}

	// Locks exclude across clients, and free on Unlock.
	if err := s1.Lock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = s2.Lock(short, "issue_cert_a.test")
	cancel()
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("second Lock while held = %v, want a deadline error", err)
	}
	got := make(chan error, 1)
	go func() { got <- s2.Lock(ctx, "issue_cert_a.test") }()
	time.Sleep(200 * time.Millisecond)
	if err := s1.Unlock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting Lock did not get the lock after Unlock")
	}
	if err := s2.Unlock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
}
