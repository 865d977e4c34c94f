package e2e

import (
	"os"
	"testing"
	"time"
)

// chaosSettings size the chaos suite. FERRY_CHAOS=full (make chaos) runs
// the long form; unset or "short" runs the short form that make test runs.
type chaosSettings struct {
	// Form is "short" or "full".
	Form string
	// Phase is how long the load runs in each phase, at least.
	Phase time.Duration
	// Clients is the number of wrk-style keep-alive clients on the
	// unaffected routes; two more, paced, use the guarded services.
	Clients int
	// StoreDown is how long etcd and Consul stay killed.
	StoreDown time.Duration
	// Hostile is how many hostile requests of each kind are sent.
	Hostile int
	// HeldHeaders is how many clients hold an unfinished maximum-size header.
	HeldHeaders int
	// Resets is how many HTTP/2 streams are opened and reset, per connection.
	Resets int
}

func chaosSettingsFromEnv(t *testing.T) chaosSettings {
	t.Helper()
	switch form := os.Getenv("FERRY_CHAOS"); form {
	case "", "short":
		return chaosSettings{Form: "short", Phase: 3 * time.Second, Clients: 4, StoreDown: 1500 * time.Millisecond,
			Hostile: 20, HeldHeaders: 50, Resets: 2000}
	case "full":
		return chaosSettings{Form: "full", Phase: 10 * time.Second, Clients: 6, StoreDown: 5 * time.Second,
			Hostile: 100, HeldHeaders: 200, Resets: 20000}
	default:
		t.Fatalf("FERRY_CHAOS=%q: want short (the default) or full", form)
		return chaosSettings{}
	}
}

// chaosPhase is one disturbance applied while the load runs.
type chaosPhase struct {
	// Name is the phase's row in the table and its subtest's name.
	Name string
	// Disturbed are the hosts the phase may break for a while: their
	// failures are counted apart and do not fail the phase by themselves.
	Disturbed []string
	// Run disturbs; it runs on the subtest's goroutine while the load runs.
	Run func(t *testing.T, env *chaosEnv, load *chaosLoad)
}

// TestChaos runs one Ferry with the file, Docker, Consul catalog and etcd
// providers and, while wrk-style clients keep requesting routes that no
// phase touches, disturbs it in turn: the watched file rewritten 5×/s,
// containers of other services started and stopped, etcd and Consul killed
// and restarted, an upstream killed and revived, and hostile clients
// (malformed and abandoned bodies, stalled bodies, slowloris and oversized
// headers, HTTP/2 rapid reset). Each phase fails on any non-2xx or error on
// an unaffected route and on an fd or memory leak once it settled; a table
// of every phase is logged and printed on stdout.
//
// It does not run in parallel with other tests, so that its figures are
// Ferry's own. FERRY_CHAOS=full (make chaos) runs the long form.
func TestChaos(t *testing.T) {
	cfg := chaosSettingsFromEnv(t)
	env := startChaosEnv(t, cfg)
	phases := []chaosPhase{
		{Name: "baseline", Run: chaosIdle},
		{Name: "file-rewrites", Run: chaosFileRewrites},
		{Name: "docker-churn", Run: chaosDockerChurn},
		{Name: "etcd-kill", Run: chaosEtcdKill},
		{Name: "consul-kill", Disturbed: []string{chaosConsulHost}, Run: chaosConsulKill},
		{Name: "upstream-kill", Disturbed: []string{chaosFlakyHost}, Run: chaosUpstreamKill},
		{Name: "hostile-clients", Run: chaosHostile},
	}
	for _, p := range phases {
		t.Run(p.Name, func(t *testing.T) { env.runPhase(t, p) })
	}
	env.printTable(t)
}

// chaosIdle disturbs nothing: the load alone, for reference.
func chaosIdle(t *testing.T, env *chaosEnv, _ *chaosLoad) {
	time.Sleep(env.cfg.Phase)
}
