// Package echo is the HTTP handler behind Ferry's test backend: it echoes
// each request as JSON, echoes WebSocket messages on /ws, streams
// server-sent events on /sse, answers any status on /status/<code> and
// answers late on /slow. The end-to-end tests run it in-process and the
// demo and benchmark run it as the test/backend program.
package echo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Response is the JSON body of every plain answer.
type Response struct {
	// Name is the backend's name.
	Name string `json:"name"`
	// Method is the request method.
	Method string `json:"method"`
	// Path is the request path.
	Path string `json:"path"`
	// Host is the Host header the backend received.
	Host string `json:"host"`
	// Headers are the request headers the backend received.
	Headers map[string][]string `json:"headers"`
}

// Header returns the first value of the named request header, "" if absent.
func (r Response) Header(name string) string {
	return http.Header(r.Headers).Get(name)
}

// maxSSEEvents bounds /sse?n=.
const maxSSEEvents = 10000

// maxBytes bounds the answers of /bytes/<n>.
const maxBytes = 16 << 20

// Handler returns the backend's routes, answering as name. Every answer
// carries the header X-Backend: name.
//
//   - /ws: WebSocket echo (a plain request gets the JSON echo)
//   - /sse?n=5: n server-sent events 100ms apart, each flushed
//   - /status/<code>: an empty answer with that status
//   - /slow?ms=N: the JSON echo after N milliseconds
//   - /bytes/<n>: n bytes (at most 16 MiB) of "x", with Content-Length
//   - anything else: 200 with the JSON echo
func Handler(name string) http.Handler {
	filler := []byte(strings.Repeat("x", 32<<10))
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			write(w, r, name)
			return
		}
		conn, err := upgrader.Upgrade(w, r, http.Header{"X-Backend": {name}})
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if err := conn.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		n := 5
		if v, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && v > 0 && v <= maxSSEEvents {
			n = v
		}
		w.Header().Set("X-Backend", name)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := 0; i < n; i++ {
			if i > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s %d\n\n", i, name, i); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if err != nil || code < 200 || code > 999 {
			http.Error(w, "bad status code", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Backend", name)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/bytes/", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
		if err != nil || n < 0 || n > maxBytes {
			http.Error(w, "bad byte count", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Backend", name)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for n > 0 {
			k := min(n, len(filler))
			if _, err := w.Write(filler[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Duration(ms) * time.Millisecond):
		}
		write(w, r, name)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { write(w, r, name) })
	return mux
}

func write(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("X-Backend", name)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{
		Name: name, Method: r.Method, Path: r.URL.Path, Host: r.Host, Headers: r.Header,
	})
}
