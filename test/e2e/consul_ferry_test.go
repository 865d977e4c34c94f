package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// StartFerryWith starts ferry like StartFerry, with providers (YAML lines
// indented under "providers:", e.g. "  etcd:\n    endpoints: [...]\n")
// added to its static configuration and its log at debug level.
func StartFerryWith(t *testing.T, providersYAML string) *Ferry {
	t.Helper()
	return StartFerry(t, Options{Providers: providersYAML, LogLevel: "debug"})
}

// storeCountLogs counts the log lines after mark that contain every one of subs.
func (f *Ferry) storeCountLogs(mark int, subs ...string) int {
	logs := f.Logs()
	if mark > len(logs) {
		return 0
	}
	n := 0
	for _, line := range strings.Split(logs[mark:], "\n") {
		if containsAll(line, subs...) {
			n++
		}
	}
	return n
}

// storeSeen sends n requests to host and returns how many each backend answered.
func (f *Ferry) storeSeen(host string, n int) map[string]int {
	f.t.Helper()
	seen := map[string]int{}
	for range n {
		res := f.Get(host, "/")
		if res.Status != http.StatusOK {
			seen["status "+http.StatusText(res.Status)]++
			continue
		}
		seen[res.Backend()]++
	}
	return seen
}

// storeWait polls until n requests to host are all answered with 200,
// by exactly the backends named.
func (f *Ferry) storeWait(host string, n int, names ...string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		seen := f.storeSeen(host, n)
		ok := len(seen) == len(names)
		for _, name := range names {
			ok = ok && seen[name] > 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: want answers from exactly %v, got %v", host, names, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
