package configs

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/udp"
)

// EntryPointUDP holds a UDP entry point's options.
type EntryPointUDP struct {
	// Timeout ends a client's session after this long without a datagram
	// either way (default 3s).
	Timeout config.Duration `json:"timeout"`
}

// splitNetwork splits an entry point address into host:port and its
// protocol: ":5353/udp" is UDP, ":80" and ":80/tcp" are TCP.
func splitNetwork(addr string) (hostPort string, isUDP bool, err error) {
	i := strings.LastIndexByte(addr, '/')
	if i < 0 {
		return addr, false, nil
	}
	switch strings.ToLower(addr[i+1:]) {
	case "tcp":
		return addr[:i], false, nil
	case "udp":
		return addr[:i], true, nil
	}
	return "", false, fmt.Errorf("%q: protocol %q is not tcp or udp", addr, addr[i+1:])
}

// checkNetwork strips the protocol suffix from the entry point's address
// and checks that its options fit the protocol. name prefixes the problems.
func (ep *EntryPointConfig) checkNetwork(name string) []string {
	if ep == nil || ep.Address == "" {
		return nil
	}
	addr, isUDP, err := splitNetwork(ep.Address)
	if err != nil {
		return []string{fmt.Sprintf("%s.address: %v", name, err)}
	}
	ep.Address, ep.udp = addr, isUDP
	var problems []string
	if isUDP && (ep.HTTP != nil || ep.ProxyProtocol != nil) {
		problems = append(problems, fmt.Sprintf("%s: http and proxyProtocol do not apply to a UDP entry point", name))
	}
	if !isUDP && ep.UDP != nil {
		problems = append(problems, fmt.Sprintf("%s.udp: only a UDP entry point (address host:port/udp) takes udp options", name))
	}
	if ep.UDP != nil && ep.UDP.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("%s.udp.timeout: negative duration", name))
	}
	return problems
}

// UDPTimeout is a UDP entry point's session idle timeout.
func (ep *EntryPointConfig) UDPTimeout() time.Duration {
	if ep.UDP != nil && ep.UDP.Timeout > 0 {
		return time.Duration(ep.UDP.Timeout)
	}
	return udp.DefaultTimeout
}

// IsUDP reports whether the entry point's address has the /udp suffix.
func (ep *EntryPointConfig) IsUDP() bool { return ep != nil && ep.udp }

// UDPEntryPointNames returns the names of the UDP entry points, sorted.
func (s *Static) UDPEntryPointNames() []string {
	var out []string
	for _, name := range s.EntryPointNames() {
		if s.EntryPoints[name].IsUDP() {
			out = append(out, name)
		}
	}
	return out
}

// TCPEntryPointNames returns the names of the TCP (HTTP) entry points, sorted.
func (s *Static) TCPEntryPointNames() []string {
	var out []string
	for _, name := range s.EntryPointNames() {
		if !s.EntryPoints[name].IsUDP() {
			out = append(out, name)
		}
	}
	return out
}

// EntryPointNames returns the names of all entry points, sorted.
func (s *Static) EntryPointNames() []string { return sortedNames(s.EntryPoints) }
