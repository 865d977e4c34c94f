package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers/labels"
	"github.com/ferryproxy/ferry/router/config"
)

// labelSet is one container of a --labels file.
type labelSet struct {
	// name is the container's name: from its [name] header, else container-<n>.
	name string
	// ports are its exposed TCP ports.
	ports []string
	// labels are its labels.
	labels map[string]string
}

// readLabelSets reads a --labels file: either the JSON array that
// `docker inspect` prints, or blocks of labels separated by blank lines,
// one container each. In a block, a line is key=value, key: value or a
// compose list item (- "key=value"); # starts a comment; a first line
// [name ports=80,443] names the container and its exposed ports (the port
// used when no port label is set).
func readLabelSets(path string) ([]labelSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t := bytes.TrimSpace(data); len(t) > 1 && t[0] == '[' && bytes.HasPrefix(bytes.TrimSpace(t[1:]), []byte("{")) {
		return inspectLabelSets(path, t)
	}
	var sets []labelSet
	var cur *labelSet
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			cur = nil
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		if cur == nil {
			sets = append(sets, labelSet{name: fmt.Sprintf("container-%d", len(sets)+1), labels: map[string]string{}})
			cur = &sets[len(sets)-1]
			if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
				if err := cur.header(line[1 : len(line)-1]); err != nil {
					return nil, fmt.Errorf("%s:%d: %w", path, n, err)
				}
				continue
			}
		}
		key, value, ok := labelLine(line)
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key=value, got %q", path, n, line)
		}
		cur.labels[key] = value
	}
	return sets, sc.Err()
}

// header reads "name ports=80,443".
func (s *labelSet) header(h string) error {
	fields := strings.Fields(h)
	for i, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case i == 0 && !ok:
			s.name = f
		case ok && k == "ports":
			for _, p := range strings.Split(v, ",") {
				if _, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp")); err != nil {
					return fmt.Errorf("header: bad port %q", p)
				}
				s.ports = append(s.ports, strings.TrimSuffix(p, "/tcp"))
			}
		default:
			return fmt.Errorf("header: want [name ports=80,443], got %q", "["+h+"]")
		}
	}
	return nil
}

// labelLine splits a label line: key=value, key: value, or a compose list
// item - "key=value"; quotes around the whole item or the value go.
func labelLine(line string) (string, string, bool) {
	line = strings.TrimSpace(strings.TrimPrefix(line, "- "))
	line = unquote(line)
	eq, colon := strings.Index(line, "="), strings.Index(line, ": ")
	var key, value string
	switch {
	case eq > 0 && (colon < 0 || eq < colon):
		key, value = line[:eq], line[eq+1:]
	case colon > 0:
		key, value = line[:colon], line[colon+2:]
	default:
		return "", "", false
	}
	return strings.TrimSpace(unquote(strings.TrimSpace(key))), unquote(strings.TrimSpace(value)), true
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// inspectLabelSets reads the JSON of `docker inspect`.
func inspectLabelSets(path string, data []byte) ([]labelSet, error) {
	var cs []struct {
		Name   string
		Config struct {
			Labels       map[string]string
			ExposedPorts map[string]struct{}
		}
	}
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("%s: docker inspect JSON: %w", path, err)
	}
	sets := make([]labelSet, 0, len(cs))
	for i, c := range cs {
		s := labelSet{name: strings.TrimPrefix(c.Name, "/"), labels: c.Config.Labels}
		if s.name == "" {
			s.name = fmt.Sprintf("container-%d", i+1)
		}
		if s.labels == nil {
			s.labels = map[string]string{}
		}
		for p := range c.Config.ExposedPorts {
			if port, proto, _ := strings.Cut(p, "/"); proto == "" || proto == "tcp" {
				s.ports = append(s.ports, port)
			}
		}
		slices.Sort(s.ports)
		sets = append(sets, s)
	}
	return sets, nil
}

// labelsConfig builds the containers' configuration as Ferry's Docker
// provider does with labelPrefix: traefik and Traefik's default of
// exposedByDefault (true unless the Traefik file sets it).
func labelsConfig(path string, sets []labelSet, rep *configs.TraefikReport) (*config.Config, []config.Problem, map[config.ObjectID]string, error) {
	var rule *string // unset: the default; "": no implicit router, as in Traefik
	if d := rep.Static.Providers.Docker; d != nil {
		rule = d.DefaultRule
	}
	tmpl, err := labels.ParseDefaultRuleOption(rule)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("providers.docker.defaultRule: %w", err)
	}
	o := labels.Options{Prefix: "traefik", DefaultRule: tmpl, ExposedByDefault: rep.DockerExposedByDefault, ProviderKeys: []string{"docker"}}
	parts := make([]labels.Part, 0, len(sets))
	for _, s := range sets {
		name := s.name
		if svc, proj := s.labels["com.docker.compose.service"], s.labels["com.docker.compose.project"]; svc != "" && proj != "" {
			name = svc + "-" + proj
		}
		origin := fmt.Sprintf("%s: container %q", path, s.name)
		w := labels.Workload{Name: name, ContainerName: s.name, Labels: s.labels, Host: "127.0.0.1", Ports: s.ports, Origin: origin}
		cfg, problems := labels.Build(w, o)
		if cfg == nil && len(problems) == 0 {
			continue // not enabled
		}
		parts = append(parts, labels.Part{Origin: origin, Config: cfg, Problems: problems})
	}
	m := labels.Merge(parts)
	return m.Config, m.Problems, m.Origins, nil
}
