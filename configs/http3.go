package configs

import (
	"fmt"
	"net"
	"strconv"
)

// EntryPointHTTP3 turns on HTTP/3 (over QUIC) on an entry point, as in
// Traefik: `http3: {}`.
type EntryPointHTTP3 struct {
	// AdvertisedPort is the UDP port announced to clients in the Alt-Svc
	// header of the entry point's HTTP/1.1 and HTTP/2 answers over TLS
	// (default: the entry point's own port). Set it when a firewall or a
	// load balancer maps another public UDP port to the entry point.
	// HTTP/3 itself is always served on the entry point's own port, UDP.
	AdvertisedPort int `json:"advertisedPort"`
}

// checkHTTP3 reports the problems of the entry points' http3 sections;
// name (the file) prefixes them. It runs after checkNetwork has told the
// UDP entry points apart.
func (s *Static) checkHTTP3(name string) []string {
	var problems []string
	for _, epName := range s.EntryPointNames() {
		ep := s.EntryPoints[epName]
		if ep == nil || ep.HTTP3 == nil {
			continue
		}
		key := fmt.Sprintf("%s: entryPoints.%s.http3", name, epName)
		if ep.IsUDP() {
			problems = append(problems, key+": HTTP/3 is served by a TCP entry point (it listens on the same port, UDP); this one is UDP")
			continue
		}
		if p := ep.HTTP3.AdvertisedPort; p < 0 || p > 65535 {
			problems = append(problems, fmt.Sprintf("%s.advertisedPort: %d is not a port (1-65535)", key, p))
		}
		for _, other := range s.UDPEntryPointNames() {
			if sameSocket(ep.Address, s.EntryPoints[other].Address) {
				problems = append(problems, fmt.Sprintf("%s: its UDP port is taken by the UDP entry point %q (%s)",
					key, other, s.EntryPoints[other].Address))
			}
		}
	}
	return problems
}

// sameSocket reports whether two host:port addresses would bind the same
// port: the same port, and the same host or a wildcard on either side.
func sameSocket(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return false
	}
	if n, err := strconv.Atoi(pa); err == nil && n == 0 {
		return false // each gets a port of its own
	}
	wild := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || ip != nil && ip.IsUnspecified()
	}
	return ha == hb || wild(ha) || wild(hb)
}

// HTTP3AdvertisedPort returns whether the entry point serves HTTP/3, and
// the port to announce in Alt-Svc (0: the entry point's own).
func (ep *EntryPointConfig) HTTP3AdvertisedPort() (port int, on bool) {
	if ep == nil || ep.HTTP3 == nil {
		return 0, false
	}
	return ep.HTTP3.AdvertisedPort, true
}
