package docker

import (
	"fmt"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"go.uber.org/zap"
)

func ev(typ events.Type, action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: typ, Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs}}
}

// TestApply runs batches of events against a known running container "a",
// with the inspection the engine would answer after the batch.
func TestApply(t *testing.T) {
	running := ctr("web", "172.18.0.2", nil)
	running.ID = "a"
	stopped := *running
	stopped.Running = false
	kill := ev(events.ContainerEventType, "kill", "a", map[string]string{"signal": "15"})
	start := ev(events.ContainerEventType, "start", "a", nil)
	tests := []struct {
		name     string
		batch    []events.Message
		inspect  inspectResult
		changed  bool
		known    bool
		running  bool
		draining bool
	}{
		{"kill TERM drains", []events.Message{kill}, inspectResult{}, true, true, true, true},
		{"kill SIGKILL drains", []events.Message{ev(events.ContainerEventType, "kill", "a", map[string]string{"signal": "SIGKILL"})}, inspectResult{}, true, true, true, true},
		{"kill HUP does not", []events.Message{ev(events.ContainerEventType, "kill", "a", map[string]string{"signal": "1"})}, inspectResult{}, false, true, true, false},
		{"stop drains", []events.Message{ev(events.ContainerEventType, "stop", "a", nil)}, inspectResult{}, true, true, true, true},
		{"stop of an unknown container", []events.Message{ev(events.ContainerEventType, "stop", "zzz", nil)}, inspectResult{}, false, true, true, false},
		{"destroy forgets", []events.Message{ev(events.ContainerEventType, "destroy", "a", nil)}, inspectResult{}, true, false, false, false},
		{"exec events are ignored", []events.Message{ev(events.ContainerEventType, "exec_start: /backend -check", "a", nil)}, inspectResult{}, false, true, true, false},
		{"other network events are ignored", []events.Message{ev(events.NetworkEventType, "create", "n", nil)}, inspectResult{}, false, true, true, false},
		{"image events are ignored", []events.Message{ev(events.ImageEventType, "pull", "a", nil)}, inspectResult{}, false, true, true, false},
		{"kill then die", []events.Message{kill, ev(events.ContainerEventType, "die", "a", nil)}, inspectResult{c: &stopped}, true, true, false, false},
		{"kill then start (restart)", []events.Message{kill, start}, inspectResult{c: running}, true, true, true, false},
		{"start then kill", []events.Message{start, kill}, inspectResult{c: running}, true, true, true, true},
		{"health change keeps draining", []events.Message{kill, ev(events.ContainerEventType, "health_status: healthy", "a", nil)}, inspectResult{c: running}, true, true, true, true},
		{"network disconnect re-inspects", []events.Message{ev(events.NetworkEventType, "disconnect", "net1", map[string]string{"container": "a"})}, inspectResult{c: &stopped}, true, true, false, false},
		{"gone when inspected", []events.Message{ev(events.ContainerEventType, "die", "a", nil)}, inspectResult{err: fmt.Errorf("docker: inspect: %w", cerrdefs.ErrNotFound)}, true, false, false, false},
		{"inspect error keeps state", []events.Message{ev(events.ContainerEventType, "die", "a", nil)}, inspectResult{err: fmt.Errorf("timeout")}, false, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := *running
			s := &session{p: &Provider{log: zap.NewNop()}, cs: map[string]*container{"a": &prev}}
			changed := false
			for _, m := range tt.batch {
				id, act := classify(m)
				changed = s.apply(id, act, tt.inspect) || changed
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			c, ok := s.cs["a"]
			if ok != tt.known {
				t.Fatalf("container known = %v, want %v", ok, tt.known)
			}
			if ok && (c.Running != tt.running || c.Draining != tt.draining) {
				t.Errorf("running, draining = %v, %v; want %v, %v", c.Running, c.Draining, tt.running, tt.draining)
			}
		})
	}
}
