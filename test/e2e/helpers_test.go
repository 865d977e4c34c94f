package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/test/echo"
)

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	return reservedAddr(t, false)
}

// portOf returns the port part of host:port.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	return port
}

// dyn formats a dynamic configuration; single quotes in format become
// backticks, so rules read Host('a.test') in Go raw strings.
func dyn(format string, args ...any) string {
	return fmt.Sprintf(strings.ReplaceAll(format, "'", "`"), args...)
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path, as editors and config management tools do.
func writeFileAtomic(t *testing.T, path, data string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		t.Fatalf("write %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatalf("rename onto %s: %v", path, err)
	}
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Backend is an in-process HTTP server behind Ferry.
type Backend struct {
	// Name is the value of its X-Backend header.
	Name string
	// URL is its base URL, http://127.0.0.1:port.
	URL string
	// Addr is its host:port.
	Addr string
}

// StartBackend starts an echo backend named name; extra handlers, by
// pattern, take precedence over the echo routes.
func StartBackend(t *testing.T, name string, extra map[string]http.HandlerFunc) *Backend {
	t.Helper()
	h := echo.Handler(name)
	if len(extra) > 0 {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		for pattern, fn := range extra {
			mux.HandleFunc(pattern, fn)
		}
		h = mux
	}
	srv := newLoopbackServer(t, h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &Backend{Name: name, URL: srv.URL, Addr: srv.Listener.Addr().String()}
}

// runFerry runs the binary with args to completion (bounded) and returns its
// combined output and exit code.
func runFerry(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ferry %s did not end within 15s; output:\n%s", strings.Join(args, " "), out)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("run ferry %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}
