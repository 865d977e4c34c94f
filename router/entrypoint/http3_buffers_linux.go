package entrypoint

import (
	"fmt"
	"net"
	"syscall"
)

// sizeUDPBuffers raises the receive and send buffers of c to want bytes
// as quic-go does: by the ordinary socket option, then, where the kernel's
// limit stops it and force is set, by the forcing one (root or
// CAP_NET_ADMIN). It returns
// what stayed smaller, naming the sysctl that limits it, in quic-go's
// terms: a buffer is large enough when the kernel reports at least want.
func sizeUDPBuffers(c *net.UDPConn, want int, force bool) []string {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	get := func(opt int) int {
		v := 0
		_ = rc.Control(func(fd uintptr) { v, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) })
		return v
	}
	forceSet := func(opt int) {
		_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, want) })
	}
	var limited []string
	for _, b := range []struct {
		opt, forceOpt int
		set           func(int) error
		sysctl        string
	}{
		{syscall.SO_RCVBUF, syscall.SO_RCVBUFFORCE, c.SetReadBuffer, "net.core.rmem_max"},
		{syscall.SO_SNDBUF, syscall.SO_SNDBUFFORCE, c.SetWriteBuffer, "net.core.wmem_max"},
	} {
		if get(b.opt) >= want {
			continue
		}
		_ = b.set(want)
		if force && get(b.opt) < want {
			forceSet(b.forceOpt)
		}
		if got := get(b.opt); got < want {
			limited = append(limited, fmt.Sprintf("%s (got %d KiB)", b.sysctl, got>>10))
		}
	}
	return limited
}
