package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdServer is a real single-member etcd on free loopback ports, with its
// data in a temporary directory that survives a restart.
type etcdServer struct {
	t    testing.TB
	bin  string
	args []string
	// Addr is the client address, host:port.
	Addr string
	// URL is the client URL: http://Addr, or https://Addr with TLS.
	URL string
	tls *tls.Config // the test's client TLS, when the server requires it
	// KV is a client of the server.
	KV *clientv3.Client

	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// StartEtcd starts etcd and waits until it answers. It is stopped when the
// test ends.
func StartEtcd(t testing.TB) *etcdServer {
	return startEtcd(t, nil)
}

// startEtcd starts etcd; with pki, clients must use TLS with a client
// certificate.
func startEtcd(t testing.TB, pki *testPKI) *etcdServer {
	t.Helper()
	scheme := "http"
	if pki != nil {
		scheme = "https"
	}
	port := freePort(t)
	client := fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	e := &etcdServer{t: t, bin: storeBin(t, "FERRY_ETCD_BIN", "test/etcd/ensure-etcd.sh"),
		Addr: fmt.Sprintf("127.0.0.1:%d", port), URL: client}
	e.args = []string{"--name", "ferry-test", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ferry-test=" + peer, "--logger", "zap", "--log-level", "warn"}
	if pki != nil {
		e.args = append(e.args, "--cert-file", pki.ServerCert, "--key-file", pki.ServerKey,
			"--trusted-ca-file", pki.CA, "--client-cert-auth")
		e.tls = pki.clientTLS(t)
	}
	kv, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL}, TLS: e.tls, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	e.KV = kv
	e.Start()
	t.Cleanup(func() {
		e.Stop()
		kv.Close()
		if t.Failed() {
			t.Logf("etcd log (tail):\n%s", tail(e.logs.String(), 4000))
		}
	})
	return e
}

// Start starts etcd (again, on the same data) and waits until it answers.
func (e *etcdServer) Start() {
	e.t.Helper()
	e.logs = &syncBuffer{}
	e.done = make(chan struct{})
	e.cmd = exec.Command(e.bin, e.args...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	// Killed with the test binary, should it die before its cleanups run.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("start etcd: %v", err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := e.KV.Get(ctx, "ferry-ready")
		cancel()
		if err == nil {
			return
		}
		select {
		case <-e.done:
			e.t.Fatalf("etcd exited at start:\n%s", tail(e.logs.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("etcd not ready after 30s (%v):\n%s", err, tail(e.logs.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops etcd and waits for it to exit.
func (e *etcdServer) Stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

func (e *etcdServer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Put writes keys and values (alternating) in one transaction: one revision.
func (e *etcdServer) Put(kvs ...string) {
	e.t.Helper()
	var ops []clientv3.Op
	for i := 0; i+1 < len(kvs); i += 2 {
		ops = append(ops, clientv3.OpPut(kvs[i], kvs[i+1]))
	}
	e.txn(ops...)
}

// Delete removes keys in one transaction.
func (e *etcdServer) Delete(keys ...string) {
	e.t.Helper()
	var ops []clientv3.Op
	for _, k := range keys {
		ops = append(ops, clientv3.OpDelete(k))
	}
	e.txn(ops...)
}

func (e *etcdServer) txn(ops ...clientv3.Op) {
	e.t.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	if _, err := e.KV.Txn(ctx).Then(ops...).Commit(); err != nil {
		e.t.Fatalf("etcd txn: %v", err)
	}
}
