package configs

import (
	"fmt"
	"net"
	"strconv"

	"github.com/ferryproxy/ferry/providers/kubernetes/gateway"
)

// KubernetesGatewayOptions returns providers.kubernetesGateway with the
// entry points filled in: the Gateway API provider serves a listener on
// the entry points listening on its port. Nil when the provider is off.
func (s *Static) KubernetesGatewayOptions() *gateway.Options {
	k := s.Providers.KubernetesGateway
	if k == nil {
		return nil
	}
	o := *k
	o.EntryPoints = nil
	for _, name := range s.EntryPointNames() {
		ep := s.EntryPoints[name]
		if ep == nil {
			continue
		}
		if port, err := entryPointPort(ep.Address); err == nil {
			o.EntryPoints = append(o.EntryPoints, gateway.EntryPoint{Name: name, Port: port, UDP: ep.IsUDP()})
		}
	}
	return &o
}

// entryPointPort is the port of an entry point address (host:port, its
// protocol suffix already removed).
func entryPointPort(addr string) (int32, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", p, err)
	}
	return int32(n), nil
}

// checkKubernetesGateway checks providers.kubernetesGateway and resolves
// its file paths against dir; name prefixes the problems.
func (s *Static) checkKubernetesGateway(name, dir string) []string {
	k := s.Providers.KubernetesGateway
	if k == nil {
		return nil
	}
	var problems []string
	if err := k.Check(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: providers.kubernetesGateway: %v", name, err))
	}
	k.CertAuthFilePath = resolve(dir, k.CertAuthFilePath)
	return problems
}
