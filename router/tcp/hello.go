package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// Hello is what routing needs from a TLS ClientHello.
type Hello struct {
	// ServerName is the SNI name, lower-case; empty when the client sent none.
	ServerName string
	// Protos are the ALPN protocols the client offered, in its order.
	Protos []string
}

// errHelloRead stops the handshake once the ClientHello has been parsed.
var errHelloRead = errors.New("tcp: client hello read")

// maxHello bounds the bytes read while looking for a ClientHello.
const maxHello = 64 << 10

// PeekClientHello reads the TLS ClientHello that starts c, within timeout,
// without consuming it: the returned connection replays every byte read
// before the rest of the stream, and is returned even when err is not nil
// (the bytes were not a valid ClientHello).
func PeekClientHello(c net.Conn, timeout time.Duration) (*Hello, net.Conn, error) {
	var rec bytes.Buffer
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	hello, err := ParseClientHello(io.TeeReader(io.LimitReader(c, maxHello), &rec))
	_ = c.SetReadDeadline(time.Time{})
	return hello, NewPrefixConn(c, rec.Bytes(), nil), err
}

// ParseClientHello reads TLS records from r until it holds a whole
// ClientHello, and returns its server name and ALPN protocols. It uses
// crypto/tls's own parser, so what it accepts is what the TLS stack accepts.
func ParseClientHello(r io.Reader) (*Hello, error) {
	var hello *Hello
	cfg := &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = &Hello{ServerName: strings.ToLower(chi.ServerName), Protos: slices.Clone(chi.SupportedProtos)}
		return nil, errHelloRead
	}}
	err := tls.Server(readOnlyConn{r: r}, cfg).Handshake()
	if hello != nil {
		return hello, nil
	}
	if err == nil {
		err = errors.New("handshake ended without a ClientHello")
	}
	return nil, fmt.Errorf("tcp: read client hello: %w", err)
}

// readOnlyConn is a net.Conn that reads from r and discards writes (the
// alert crypto/tls sends when the handshake is aborted).
type readOnlyConn struct{ r io.Reader }

func (c readOnlyConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c readOnlyConn) Write(b []byte) (int, error)      { return len(b), nil }
func (readOnlyConn) Close() error                       { return nil }
func (readOnlyConn) LocalAddr() net.Addr                { return nil }
func (readOnlyConn) RemoteAddr() net.Addr               { return nil }
func (readOnlyConn) SetDeadline(time.Time) error        { return nil }
func (readOnlyConn) SetReadDeadline(time.Time) error    { return nil }
func (readOnlyConn) SetWriteDeadline(t time.Time) error { return nil }
