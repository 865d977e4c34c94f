// Package proxyproto reads and writes PROXY protocol headers (versions 1 and
// 2, as specified by HAProxy): the client's original address, prepended to
// a TCP stream by a proxy.
package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// sigV2 starts every version 2 header.
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// sigV1 starts every version 1 header.
var sigV1 = []byte("PROXY ")

// maxV1 is the longest version 1 header, CRLF included.
const maxV1 = 107

// ErrNoHeader means the stream does not start with a PROXY header.
var ErrNoHeader = errors.New("proxyproto: no PROXY header")

// Header is a PROXY protocol header.
type Header struct {
	// Version is 1 (text) or 2 (binary).
	Version int
	// Local is the version 2 LOCAL command (or version 1 UNKNOWN): the
	// connection was opened by the proxy itself and the addresses are unset.
	Local bool
	// Source is the client's address.
	Source netip.AddrPort
	// Destination is the address the client connected to.
	Destination netip.AddrPort
}

// Detect tells from the first bytes of a stream whether it starts with a
// PROXY header. It returns the version (1 or 2) when the prefix is a whole
// signature, 0 when it cannot be one, and -1 when prefix is too short to
// tell but matches so far.
func Detect(prefix []byte) int {
	for v, sig := range [][]byte{sigV1, sigV2} {
		n := min(len(prefix), len(sig))
		if bytes.Equal(prefix[:n], sig[:n]) {
			if n == len(sig) {
				return v + 1
			}
			return -1
		}
	}
	return 0
}

// Read reads one PROXY header from r, consuming exactly its bytes. It
// returns ErrNoHeader, without consuming anything, when the stream does not
// start with a signature.
func Read(r *bufio.Reader) (*Header, error) {
	for n := 1; ; n++ {
		prefix, err := r.Peek(n)
		if err != nil {
			return nil, fmt.Errorf("proxyproto: read signature: %w", err)
		}
		switch Detect(prefix) {
		case 0:
			return nil, ErrNoHeader
		case 1:
			return readV1(r)
		case 2:
			return readV2(r)
		}
	}
}

func readV1(r *bufio.Reader) (*Header, error) {
	line := make([]byte, 0, maxV1)
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("proxyproto: read v1 header: %w", err)
		}
		line = append(line, c)
		if c == '\n' {
			break
		}
		if len(line) >= maxV1 {
			return nil, errors.New("proxyproto: v1 header longer than 107 bytes")
		}
	}
	return ParseV1(line)
}

// ParseV1 parses a whole version 1 header line, CRLF included.
func ParseV1(line []byte) (*Header, error) {
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return nil, errors.New("proxyproto: v1 header does not end with CRLF")
	}
	s, ok = strings.CutPrefix(s, string(sigV1))
	if !ok {
		return nil, ErrNoHeader
	}
	f := strings.Split(s, " ")
	if f[0] == "UNKNOWN" {
		return &Header{Version: 1, Local: true}, nil
	}
	if len(f) != 5 || (f[0] != "TCP4" && f[0] != "TCP6") {
		return nil, fmt.Errorf("proxyproto: invalid v1 header %q", s)
	}
	src, err1 := netip.ParseAddr(f[1])
	dst, err2 := netip.ParseAddr(f[2])
	sp, err3 := parsePort(f[3])
	dp, err4 := parsePort(f[4])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("proxyproto: invalid v1 header %q: %w", s, err)
	}
	if want4 := f[0] == "TCP4"; src.Is4() != want4 || dst.Is4() != want4 || src.Zone() != "" || dst.Zone() != "" {
		return nil, fmt.Errorf("proxyproto: invalid v1 header %q: addresses are not %s", s, f[0])
	}
	return &Header{Version: 1, Source: netip.AddrPortFrom(src, sp), Destination: netip.AddrPortFrom(dst, dp)}, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(p), nil
}

func readV2(r *bufio.Reader) (*Header, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return nil, fmt.Errorf("proxyproto: read v2 header: %w", err)
	}
	n := int(binary.BigEndian.Uint16(fixed[14:]))
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("proxyproto: read v2 addresses: %w", err)
	}
	return parseV2(fixed[:], body)
}

// ParseV2 parses a whole version 2 header.
func ParseV2(b []byte) (*Header, error) {
	if len(b) < 16 || !bytes.Equal(b[:12], sigV2) {
		return nil, ErrNoHeader
	}
	n := int(binary.BigEndian.Uint16(b[14:]))
	if len(b) != 16+n {
		return nil, fmt.Errorf("proxyproto: v2 header of %d bytes announces %d", len(b), 16+n)
	}
	return parseV2(b[:16], b[16:])
}

func parseV2(fixed, body []byte) (*Header, error) {
	if fixed[12]>>4 != 2 {
		return nil, fmt.Errorf("proxyproto: v2 header with version %d", fixed[12]>>4)
	}
	h := &Header{Version: 2}
	switch fixed[12] & 0xf {
	case 0: // LOCAL
		h.Local = true
		return h, nil
	case 1: // PROXY
	default:
		return nil, fmt.Errorf("proxyproto: v2 header with command %d", fixed[12]&0xf)
	}
	switch fixed[13] {
	case 0x11, 0x12: // TCP or UDP over IPv4
		if len(body) < 12 {
			return nil, errors.New("proxyproto: v2 IPv4 addresses truncated")
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:]))
	case 0x21, 0x22: // TCP or UDP over IPv6
		if len(body) < 36 {
			return nil, errors.New("proxyproto: v2 IPv6 addresses truncated")
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:]))
	default: // UNSPEC, unix sockets: the receiver keeps the real addresses
		h.Local = true
	}
	return h, nil
}

// Append appends the encoded header to b. Addresses of different families
// are sent as IPv6; an unset address makes a version 1 UNKNOWN or version 2
// LOCAL header.
func (h *Header) Append(b []byte) ([]byte, error) {
	src, dst := h.Source.Addr().Unmap(), h.Destination.Addr().Unmap()
	local := h.Local || !src.IsValid() || !dst.IsValid()
	if !local && src.Is4() != dst.Is4() {
		src, dst = netip.AddrFrom16(src.As16()), netip.AddrFrom16(dst.As16())
	}
	switch h.Version {
	case 1:
		if local {
			return append(b, "PROXY UNKNOWN\r\n"...), nil
		}
		fam := "TCP6"
		if src.Is4() {
			fam = "TCP4"
		}
		return fmt.Appendf(b, "PROXY %s %s %s %d %d\r\n", fam, src.WithZone(""), dst.WithZone(""), h.Source.Port(), h.Destination.Port()), nil
	case 2:
		b = append(b, sigV2...)
		if local {
			return append(b, 0x20, 0x00, 0, 0), nil
		}
		if src.Is4() {
			b = append(b, 0x21, 0x11, 0, 12)
			s4, d4 := src.As4(), dst.As4()
			b = append(append(b, s4[:]...), d4[:]...)
		} else {
			b = append(b, 0x21, 0x21, 0, 36)
			s16, d16 := src.As16(), dst.As16()
			b = append(append(b, s16[:]...), d16[:]...)
		}
		b = binary.BigEndian.AppendUint16(b, h.Source.Port())
		return binary.BigEndian.AppendUint16(b, h.Destination.Port()), nil
	default:
		return b, fmt.Errorf("proxyproto: unknown version %d", h.Version)
	}
}
