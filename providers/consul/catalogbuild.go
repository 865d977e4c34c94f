package consul

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryproxy/ferry/providers/labels"
)

// instance is one registered instance of a Consul service, as the build
// sees it.
type instance struct {
	// Service is the service's name.
	Service string
	// ID is the instance's service ID.
	ID string
	// Node is the node the instance is registered on.
	Node string
	// Address is the instance's address, else its node's.
	Address string
	// Port is the instance's port; 0 when none was registered.
	Port int
	// Tags are the instance's tags.
	Tags []string
	// Meta is the instance's service meta.
	Meta map[string]string
	// Status is the aggregated status of its checks: passing, warning,
	// critical or maintenance.
	Status string
}

// settings are the fixed inputs of the catalog build.
type settings struct {
	labels     labels.Options
	healthy    []string            // statuses that count as healthy
	constraint func([]string) bool // nil: every service
}

// newSettings checks the catalog options and compiles what they hold.
func newSettings(o CatalogOptions) (settings, error) {
	rule, err := labels.ParseDefaultRule(o.DefaultRule)
	if err != nil {
		return settings{}, fmt.Errorf("consul catalog: %w", err)
	}
	s := settings{
		labels: labels.Options{Prefix: o.Prefix, DefaultRule: rule, ExposedByDefault: o.ExposedByDefault,
			ProviderKeys: []string{"consulcatalog"}},
		healthy: o.StrictChecks,
	}
	for _, st := range s.healthy {
		switch st {
		case "passing", "warning", "critical", "maintenance":
		default:
			return settings{}, fmt.Errorf("consul catalog: strictChecks: %q is not passing, warning, critical or maintenance", st)
		}
	}
	if strings.TrimSpace(o.Constraints) != "" {
		c, err := compileConstraints(o.Constraints)
		if err != nil {
			return settings{}, err
		}
		s.constraint = c
	}
	return s, nil
}

// tagLabels turns tags and meta into labels: a tag k=v is the label k with
// value v (the first '=' splits); a tag without '=' is not a label. Consul
// allows only letters, digits, '_' and '-' in meta keys, so a meta key
// under the prefix is written with '_' between the parts
// (ferry_http_routers_web_rule), which reads as the label with dots (names
// that contain '_' must then be set with tags). A tag wins over a meta
// entry for the same label.
func tagLabels(tags []string, meta map[string]string, prefix string) map[string]string {
	out := make(map[string]string, len(tags)+len(meta))
	for k, v := range meta {
		if len(k) > len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) && k[len(prefix)] == '_' {
			k = k[:len(prefix)] + strings.ReplaceAll(k[len(prefix):], "_", ".")
		}
		out[k] = v
	}
	for _, t := range tags {
		if k, v, ok := strings.Cut(t, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// origin names an instance in problems and logs.
func (in instance) origin() string {
	return fmt.Sprintf("consul service %q instance %q on node %q", in.Service, in.ID, in.Node)
}

// serviceParts builds the parts of one service: one per instance that is
// healthy, passes the constraints and is enabled. Instances come in a
// stable order so that the same state always builds the same parts.
func serviceParts(insts []instance, s settings) []labels.Part {
	var parts []labels.Part
	for _, in := range insts {
		if !slices.Contains(s.healthy, in.Status) {
			continue
		}
		if s.constraint != nil && !s.constraint(in.Tags) {
			continue
		}
		w := labels.Workload{
			Name:   in.Service,
			Labels: tagLabels(in.Tags, in.Meta, s.labels.Prefix),
			Host:   in.Address,
			Origin: in.origin(),
		}
		if in.Port > 0 {
			w.Ports = []string{strconv.Itoa(in.Port)}
		}
		cfg, problems := labels.Build(w, s.labels)
		if cfg == nil && len(problems) == 0 {
			continue // not enabled
		}
		parts = append(parts, labels.Part{Origin: w.Origin, Config: cfg, Problems: problems})
	}
	return parts
}

// mergeParts combines the parts of every service into one view.
func mergeParts(byService map[string][]labels.Part) *labels.Merged {
	var all []labels.Part
	for _, ps := range byService {
		all = append(all, ps...)
	}
	return labels.Merge(all)
}
