package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// chaosFDSlack is how many more open fds than before a phase Ferry may
	// hold once the phase settled, its pooled upstream connections aside.
	chaosFDSlack = 32
	// chaosMaxPooledPerServer bounds the keep-alive connections Ferry keeps
	// to one upstream server (its transports' MaxIdleConnsPerHost).
	chaosMaxPooledPerServer = 512
	// chaosRSSSlack is how much Ferry's resident memory may grow in a phase.
	chaosRSSSlack = 64 << 20
	// chaosSettle bounds the wait for connections to close after a phase.
	chaosSettle = 10 * time.Second
)

// procStats are Ferry's resident memory and open file descriptors.
type procStats struct {
	RSS int64 // bytes
	FDs int
	// Pooled is the keep-alive connections to upstream servers among FDs,
	// MostPooled the most to one server.
	Pooled, MostPooled int
}

// procStats reads /proc for Ferry's process; an error when it cannot (the process
// is gone).
func (env *chaosEnv) procStats(t *testing.T) (procStats, error) {
	t.Helper()
	pid, names := env.pid(), env.names
	var s procStats
	v := rss(t, pid)
	kb, err := strconv.ParseInt(strings.Fields(v + " x")[0], 10, 64)
	if err != nil {
		return s, fmt.Errorf("ferry (pid %d): RSS %s", pid, v)
	}
	s.RSS = kb << 10
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("ferry (pid %d): open fds: %w", pid, err)
	}
	s.FDs = len(fds)
	s.Pooled, s.MostPooled = chaosPooled(pid, names)
	return s, nil
}

// unpooled is the open fds other than pooled upstream connections.
func (s procStats) unpooled() int { return s.FDs - s.Pooled }

// settle waits until Ferry holds at most chaosFDSlack fds more than before
// (the phase's connections closed), at most chaosSettle, and returns the
// figures then.
func (env *chaosEnv) settle(t *testing.T, before procStats) (procStats, error) {
	t.Helper()
	deadline := time.Now().Add(chaosSettle)
	for {
		s, err := env.procStats(t)
		if err != nil || s.unpooled() <= before.unpooled()+chaosFDSlack || time.Now().After(deadline) {
			return s, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// chaosRow is one phase in the table.
type chaosRow struct {
	Phase         string
	Took          time.Duration
	Load          chaosLoadResult
	Before, After procStats
	// Sockets describes Ferry's sockets after a phase that leaked fds.
	Sockets string
	Failed  bool
}

// checkRow fails the phase on failures of unaffected routes and on leaks.
func checkRow(t *testing.T, row chaosRow) {
	t.Helper()
	r := row.Load
	if r.Non2xx > 0 || r.Errors > 0 {
		t.Errorf("%s: %d non-2xx answers and %d errors on unaffected routes (of %d requests):%s\nfirst failures:\n  %s",
			row.Phase, r.Non2xx, r.Errors, r.Requests, r.causes(), strings.Join(r.Samples, "\n  "))
	} else if r.DisturbedFailed > 0 {
		t.Logf("%s: disturbed routes failed %d of %d requests (allowed):%s", row.Phase, r.DisturbedFailed, r.Disturbed, r.causes())
	}
	if r.Requests == 0 {
		t.Errorf("%s: the load sent no request", row.Phase)
	}
	if row.After.unpooled() > row.Before.unpooled()+chaosFDSlack {
		t.Errorf("%s: fd leak: ferry holds %d open fds (%d pooled upstream connections aside) %s after the phase, %d before (bound +%d); %s",
			row.Phase, row.After.unpooled(), row.After.Pooled, chaosSettle, row.Before.unpooled(), chaosFDSlack, row.Sockets)
	}
	if row.After.MostPooled > chaosMaxPooledPerServer {
		t.Errorf("%s: ferry keeps %d connections to one upstream server (bound %d); %s",
			row.Phase, row.After.MostPooled, chaosMaxPooledPerServer, row.Sockets)
	}
	if row.After.RSS > row.Before.RSS+chaosRSSSlack {
		t.Errorf("%s: memory: ferry's RSS grew from %s to %s (bound +%s)",
			row.Phase, mib(row.Before.RSS), mib(row.After.RSS), mib(chaosRSSSlack))
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// printTable logs the table of every phase and prints it on stdout, as
// Markdown, ready to paste into a note.
func (env *chaosEnv) printTable(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos suite (%s form, %s of load per phase, %d+2 clients)\n\n", env.cfg.Form, env.cfg.Phase, env.cfg.Clients)
	b.WriteString("| phase | time | requests | non-2xx (unaffected) | errors | disturbed failed/sent | RSS before → after | fds before → after (pooled upstream) | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range env.rows {
		result := "ok"
		if r.Failed {
			result = "FAIL"
		}
		fmt.Fprintf(&b, "| %s | %.1fs | %d | %d | %d | %d/%d | %s → %s | %d → %d (%d) | %s |\n",
			r.Phase, r.Took.Seconds(), r.Load.Requests, r.Load.Non2xx, r.Load.Errors,
			r.Load.DisturbedFailed, r.Load.Disturbed, mib(r.Before.RSS), mib(r.After.RSS),
			r.Before.FDs, r.After.FDs, r.After.Pooled, result)
	}
	t.Logf("\n%s", b.String())
	fmt.Printf("\n%s\n", b.String())
}
