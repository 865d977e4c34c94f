package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ferryproxy/ferry/router"
)

// eventTick is how often a stream looks for changes: the dashboard shows
// a change within this much after it is applied.
const eventTick = 250 * time.Millisecond

// keepAliveEvery is how often an idle stream sends a comment, so that
// proxies and the browser keep it open and a dead client is noticed.
const keepAliveEvery = 15 * time.Second

// events serves /api/events, a Server-Sent Events stream. It sends a
// "change" event whenever the live table is replaced (a configuration was
// applied) or a server's health changes, with a counter that grows by one
// each time; clients then read what they show again. Streams end when
// the client goes or the server shuts down.
type events struct {
	sw   *router.Switcher
	tick time.Duration

	mu       sync.Mutex
	shutdown map[shutdownNotifier]chan struct{} // closed when that server shuts down
}

// Change is the data of a "change" event.
type Change struct {
	// Seq counts the stream's change events, from 1.
	Seq uint64 `json:"seq"`
	// Config is set when a new configuration was applied.
	Config bool `json:"config"`
	// Health is set when a server's health changed.
	Health bool `json:"health"`
}

func (e *events) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx and the like: do not buffer
	// Registered before the first byte: a shutdown the client may ask for
	// once it sees the stream open ends the stream.
	stop := e.stopped(r)
	// The baseline is taken before the first byte too: a change applied
	// once the client has seen the stream open is a change on it.
	t := e.sw.Table()
	digest := t.HealthDigest()
	w.WriteHeader(http.StatusOK)
	// retry: reconnect after a second when the stream breaks.
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	ticker := time.NewTicker(e.tick)
	defer ticker.Stop()
	lastWrite := time.Now()
	var seq uint64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		case now := <-ticker.C:
			nt := e.sw.Table()
			nd := nt.HealthDigest()
			c := Change{Config: nt != t, Health: nd != digest}
			t, digest = nt, nd
			var err error
			switch {
			case c.Config || c.Health:
				seq++
				c.Seq = seq
				_, err = fmt.Fprintf(w, "event: change\ndata: {\"seq\":%d,\"config\":%t,\"health\":%t}\n\n", c.Seq, c.Config, c.Health)
			case now.Sub(lastWrite) >= keepAliveEvery:
				_, err = fmt.Fprint(w, ": keep-alive\n\n")
			default:
				continue
			}
			if err != nil || rc.Flush() != nil {
				return
			}
			lastWrite = now
		}
	}
}

// shutdownNotifier is the server of a request (under
// http.ServerContextKey): net/http's, or an entry point's HTTP/1 server.
type shutdownNotifier interface{ RegisterOnShutdown(func()) }

// stopped returns a channel closed when the server serving r shuts down,
// so that open streams do not hold a graceful shutdown until its
// deadline. It registers once per server.
func (e *events) stopped(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(shutdownNotifier)
	if srv == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutdown == nil {
		e.shutdown = map[shutdownNotifier]chan struct{}{}
	}
	ch := e.shutdown[srv]
	if ch == nil {
		ch = make(chan struct{})
		e.shutdown[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}
