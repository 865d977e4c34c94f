package kubernetes

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// serviceIndex is the name of the EndpointSlice index by Service.
const serviceIndex = "ferry.service"

// IndexEndpointSlicesByService adds to an EndpointSlice informer the index
// EndpointSlicesOf reads, so that finding a Service's slices does not scan
// every slice of the namespace. Call it before the informer starts.
func IndexEndpointSlicesByService(inf cache.SharedIndexInformer) error {
	err := inf.AddIndexers(cache.Indexers{serviceIndex: func(obj any) ([]string, error) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return nil, nil
		}
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			return nil, nil
		}
		return []string{s.Namespace + "/" + svc}, nil
	}})
	if err != nil {
		return fmt.Errorf("kubernetes: index endpoint slices: %w", err)
	}
	return nil
}

// EndpointSlicesOf returns the EndpointSlices of one Service (those labelled
// kubernetes.io/service-name=<service>) from the indexer of an informer
// prepared with IndexEndpointSlicesByService.
func EndpointSlicesOf(idx cache.Indexer, namespace, service string) ([]*discoveryv1.EndpointSlice, error) {
	objs, err := idx.ByIndex(serviceIndex, namespace+"/"+service)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: endpoint slices of service %s/%s: %w", namespace, service, err)
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// ReadyEndpoints returns the addresses ("10.0.0.1:8080", "[fd00::1]:8080")
// of the endpoints that may take new requests on the Service port named
// portName ("" for a Service's single unnamed port): ready (or of unknown
// readiness, which the API defines as ready) and not terminating. An
// endpoint on its way out (terminating) is left out even while still
// serving, so it takes no new request while it drains. The result is
// sorted and free of duplicates (an endpoint may sit in two slices while
// they are rebalanced).
func ReadyEndpoints(eps []*discoveryv1.EndpointSlice, portName string) []string {
	var out []string
	for _, s := range eps {
		if s == nil {
			continue
		}
		port, ok := slicePort(s, portName)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if !Ready(e.Conditions) {
				continue
			}
			for _, a := range e.Addresses {
				out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Ready reports whether an endpoint may take new requests: ready (nil means
// ready) and not terminating.
func Ready(c discoveryv1.EndpointConditions) bool {
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return c.Ready == nil || *c.Ready
}

// slicePort returns the port number a slice gives the Service port named
// name.
func slicePort(s *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}
