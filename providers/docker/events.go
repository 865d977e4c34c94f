package docker

import (
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"go.uber.org/zap"
)

// action is what an event asks of the provider.
type action int

const (
	actNone    action = iota
	actDrain          // kill or stop: leave rotation now
	actDestroy        // forget the container
	// actRefresh and above re-inspect the container.
	actRefresh
	actRefreshUndrain // start, restart, unpause: re-inspect and clear draining
)

// drainSignals are the kill signals that mean a container is going away.
var drainSignals = map[string]bool{"15": true, "9": true, "2": true, "3": true, "SIGTERM": true, "SIGKILL": true, "SIGINT": true, "SIGQUIT": true}

// classify returns the container an event is about and what it asks.
func classify(m events.Message) (string, action) {
	name := string(m.Action)
	switch m.Type {
	case events.NetworkEventType:
		if id := m.Actor.Attributes["container"]; id != "" && (name == "connect" || name == "disconnect") {
			return id, actRefresh
		}
		return "", actNone
	case events.ContainerEventType:
	default:
		return "", actNone
	}
	id := m.Actor.ID
	switch {
	case name == "kill" && drainSignals[m.Actor.Attributes["signal"]], name == "stop":
		return id, actDrain
	case name == "destroy":
		return id, actDestroy
	case name == "start", name == "restart", name == "unpause":
		return id, actRefreshUndrain
	case name == "die", name == "pause", name == "rename", name == "update", name == "create", strings.HasPrefix(name, "health_status"):
		return id, actRefresh
	}
	return id, actNone
}

// apply changes the known containers for one event; res is the container's
// inspection for the refresh actions. It reports whether the view may have
// changed.
func (s *session) apply(id string, act action, res inspectResult) bool {
	switch act {
	case actDrain:
		c, ok := s.cs[id]
		if !ok || c.Draining {
			return false
		}
		c.Draining = true
		return true
	case actDestroy:
		_, ok := s.cs[id]
		delete(s.cs, id)
		return ok
	case actRefresh, actRefreshUndrain:
		if res.err != nil {
			if cerrdefs.IsNotFound(res.err) {
				_, ok := s.cs[id]
				delete(s.cs, id)
				return ok
			}
			s.p.log.Warn("docker: inspect failed; keeping what was known", zap.String("container", id), zap.Error(res.err))
			return false
		}
		if res.c == nil {
			return false
		}
		c := *res.c // each event of a batch starts from the same inspection
		if prev, ok := s.cs[id]; ok && act != actRefreshUndrain && c.Running {
			c.Draining = prev.Draining
		}
		s.cs[id] = &c
		return true
	}
	return false
}
