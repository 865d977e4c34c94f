package docker

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/labels"
)

// Compose labels that name a container's service and project.
const (
	composeService = "com.docker.compose.service"
	composeProject = "com.docker.compose.project"
)

// container is what the provider keeps of one inspected container.
type container struct {
	ID   string
	Name string // without the leading slash
	// Labels are the container's labels.
	Labels map[string]string
	// Running is true while the container runs and is not paused.
	Running bool
	// Health is the health check status (starting, healthy, unhealthy), or
	// "" without a health check.
	Health string
	// Draining is set by a kill or stop event: the container is on its way
	// out and takes no new requests.
	Draining bool
	// HostNetwork is true for --network host.
	HostNetwork bool
	// Networks maps network names to the container's IP on them.
	Networks map[string]string
	// Ports are the exposed TCP ports, in numeric order.
	Ports []string
	// Published maps an exposed port to the host:port it is published on.
	Published map[string]string
}

// buildOptions are the provider settings that the build uses.
type buildOptions struct {
	labels        labels.Options
	network       string
	useBindPortIP bool
	constraint    func(map[string]string) bool
	// allowEmpty and allowNonRunning keep the objects of containers left
	// out of rotation, without servers (empty.go).
	allowEmpty, allowNonRunning bool
}

// skip says why a container is left out, or "" when it is served.
// Stopped, paused, draining and unhealthy containers are left out quietly
// (quiet is true); the other reasons deserve a log line.
func (c *container) skip(o *buildOptions) (reason string, quiet bool) {
	switch {
	case !c.Running:
		return "not running", true
	case c.Draining:
		return "stopping", true
	case c.Health != "" && c.Health != "healthy":
		return "health " + c.Health, true
	case o.constraint != nil && !o.constraint(c.Labels):
		return "constraints do not match", true
	}
	return "", false
}

// name is the workload name: <service>-<project> for compose containers,
// else the container name.
func (c *container) name() string {
	if s, p := c.Labels[composeService], c.Labels[composeProject]; s != "" && p != "" {
		return s + "-" + p
	}
	return c.Name
}

// origin names the container in problems.
func (c *container) origin() string { return fmt.Sprintf("container %q", c.Name) }

// address picks the container's address: 127.0.0.1 with the host network;
// else its IP on the network named by the label <prefix>.docker.network,
// then the static network, then its only (or first) network. The warning
// is set when the choice was a guess among several networks.
func (c *container) address(o *buildOptions) (host, warning string, err error) {
	if c.HostNetwork {
		return "127.0.0.1", "", nil
	}
	want, ok := labels.Lookup(c.Labels, o.labels.Prefix, "docker.network")
	if !ok {
		want = o.network
	}
	if want != "" {
		ip, ok := c.Networks[want]
		if !ok || ip == "" {
			return "", "", fmt.Errorf("not connected to network %q", want)
		}
		return ip, "", nil
	}
	names := make([]string, 0, len(c.Networks))
	for n, ip := range c.Networks {
		if ip != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", "", fmt.Errorf("no IP address on any network")
	}
	slices.Sort(names)
	if len(names) > 1 {
		warning = fmt.Sprintf("on %d networks (%s) and none chosen; using %q (set label %s.docker.network or the provider's network)",
			len(names), strings.Join(names, ", "), names[0], o.labels.Prefix)
	}
	return c.Networks[names[0]], warning, nil
}

// workload turns the container into the labels package's input.
func (c *container) workload(host string, o *buildOptions) labels.Workload {
	w := labels.Workload{
		Name: c.name(), ContainerName: c.Name, Labels: c.Labels,
		Host: host, Ports: c.Ports, Origin: c.origin(),
	}
	if o.useBindPortIP && !c.HostNetwork {
		w.Published = c.Published
		if w.Published == nil {
			w.Published = map[string]string{}
		}
	}
	return w
}

// result is the provider's view of all containers.
type result struct {
	merged *labels.Merged
	// notes say why enabled containers were left out, or warn about a
	// guess, by container name; the provider logs them when they change.
	notes map[string]string
}

// build turns the containers into the provider's configuration. It is pure.
func build(cs []*container, o *buildOptions) result {
	res := result{notes: map[string]string{}}
	parts := make([]labels.Part, 0, len(cs))
	for _, c := range cs {
		empty := false
		if reason, quiet := c.skip(o); reason != "" {
			if empty = c.keepEmpty(o); !empty { // empty.go
				if !quiet {
					res.notes[c.Name] = reason
				}
				continue
			}
		}
		if on, p := labels.Enabled(c.Labels, o.labels); p == nil && !on {
			continue
		}
		host := ""
		if !empty {
			h, warning, err := c.address(o)
			if err != nil {
				res.notes[c.Name] = "left out: " + err.Error()
				continue
			}
			if warning != "" {
				res.notes[c.Name] = warning
			}
			host = h
		}
		w := c.workload(host, o)
		w.NoServers = empty
		cfg, problems := labels.Build(w, o.labels)
		parts = append(parts, labels.Part{Origin: c.origin(), Config: cfg, Problems: problems})
	}
	res.merged = labels.Merge(parts)
	return res
}

// portsOf returns the TCP ports of Docker port specs ("80/tcp"), sorted numerically.
func portsOf(specs []string) []string {
	var ports []int
	for _, s := range specs {
		p, proto, _ := strings.Cut(s, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil {
			ports = append(ports, n)
		}
	}
	slices.Sort(ports)
	out := make([]string, 0, len(ports))
	for _, p := range slices.Compact(ports) {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

// hostPort formats a published binding; an unspecified host IP (0.0.0.0,
// ::) is reached on loopback.
func hostPort(ip, port string) string {
	if ip == "" || net.ParseIP(ip).IsUnspecified() {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, port)
}
