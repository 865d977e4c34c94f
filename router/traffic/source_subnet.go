package traffic

// subnetOf returns the first address of the /bits subnet of ip when ip is
// an IPv6 address (not an IPv4-mapped one), else ip unchanged: with
// ipv6Subnet 64, every address of a client's /64 counts as one client.
func subnetOf(ip string, bits int) string {
	a, ok := parseIP(ip)
	if !ok || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.WithZone("").Prefix(bits)
	if err != nil {
		return ip
	}
	return p.Addr().String()
}
