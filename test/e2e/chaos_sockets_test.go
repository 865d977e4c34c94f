package e2e

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// tcpState names a state of /proc/net/tcp (hex).
func tcpState(hex string) string {
	switch hex {
	case "01":
		return "ESTABLISHED"
	case "04":
		return "FIN_WAIT1"
	case "05":
		return "FIN_WAIT2"
	case "08":
		return "CLOSE_WAIT"
	case "09":
		return "LAST_ACK"
	case "0A":
		return "LISTEN"
	}
	return "state " + hex
}

// chaosSock is one TCP socket of Ferry's.
type chaosSock struct{ local, peer, state string }

// chaosSocketList returns the TCP sockets process pid holds, except its
// listeners, the local ports it listens on, and its count of open fds.
func chaosSocketList(pid int) (socks []chaosSock, listening map[string]bool, nfds int, err error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && err == nil {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	listening = map[string]bool{}
	for _, file := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			s := chaosSock{local: procAddr(f[1]), peer: procAddr(f[2]), state: tcpState(f[3])}
			if s.state == "LISTEN" {
				_, port, _ := net.SplitHostPort(s.local)
				listening[port] = true
				continue
			}
			socks = append(socks, s)
		}
	}
	return socks, listening, len(fds), nil
}

// chaosPooled counts Ferry's idle-or-busy keep-alive connections to the
// upstream servers (named peers other than the providers' endpoints): the
// pool that keeps them for reuse is bounded per server, so they are not a
// leak. It returns their number and the most to one server.
func chaosPooled(pid int, names map[string]string) (total, most int) {
	socks, listening, _, err := chaosSocketList(pid)
	if err != nil {
		return 0, 0
	}
	per := map[string]int{}
	for _, s := range socks {
		_, port, _ := net.SplitHostPort(s.local)
		name := names[s.peer]
		if listening[port] || s.state != "ESTABLISHED" || name == "" || name == "etcd" || name == "consul" {
			continue
		}
		per[s.peer]++
		total++
		most = max(most, per[s.peer])
	}
	return total, most
}

// chaosSockets describes the TCP sockets process pid holds, grouped: the
// connections accepted on each of its listening ports, and the ones it
// made, by peer (named by names, host:port → name, when known). It is
// what an fd leak report shows.
func chaosSockets(pid int, names map[string]string) string {
	socks, listening, nfds, err := chaosSocketList(pid)
	if err != nil {
		return err.Error()
	}
	groups := map[string]int{}
	for _, s := range socks {
		_, port, _ := net.SplitHostPort(s.local)
		key := "to " + s.peer
		if listening[port] {
			key = "accepted on " + s.local
		} else if name := names[s.peer]; name != "" {
			key += " (" + name + ")"
		}
		groups[key+" "+s.state]++
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return groups[keys[i]] > groups[keys[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "%d TCP sockets of %d fds:", len(socks), nfds)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %4d %s", groups[k], k)
	}
	return b.String()
}

// procAddr decodes an address of /proc/net/tcp{,6}: hex, each 32-bit word
// in host (little-endian) order, then the port.
func procAddr(s string) string {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || perr != nil || len(raw)%4 != 0 {
		return s
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(port, 10))
}
