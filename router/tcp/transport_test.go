package tcp

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/proxyproto"
	"github.com/ferryproxy/ferry/test/testpki"
)

// tlsEcho serves TLS with leaf on loopback: after an optional PROXY
// header, it answers each line with the client certificate's name (or
// "anonymous"), the SNI name and the line.
func tlsEcho(t *testing.T, leaf *testpki.Leaf, clientCA *testpki.CA, proxyHeaders chan<- *proxyproto.Header) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conf := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	if clientCA != nil {
		conf.ClientAuth, conf.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				if proxyHeaders != nil {
					h, _ := proxyproto.Read(r)
					proxyHeaders <- h
				}
				tc := tls.Server(&prefixed{Conn: c, r: r}, conf)
				if tc.Handshake() != nil {
					return
				}
				who := "anonymous"
				if cs := tc.ConnectionState(); len(cs.PeerCertificates) > 0 {
					who = cs.PeerCertificates[0].Subject.CommonName
				}
				line, _ := bufio.NewReader(tc).ReadString('\n')
				_, _ = io.WriteString(tc, who+" "+tc.ConnectionState().ServerName+" "+line)
			}()
		}
	}()
	return ln.Addr().String()
}

// prefixed reads through r, which buffered the start of Conn.
type prefixed struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixed) Read(b []byte) (int, error) { return p.r.Read(b) }

func TestTransportTLS(t *testing.T) {
	ca := testpki.NewCA(t, "private CA")
	clientCA := testpki.NewCA(t, "client CA")
	client := clientCA.Client(t, "ferry")
	plainAddr := tlsEcho(t, ca.Server(t, "db", "127.0.0.1"), nil, nil)
	mutualAddr := tlsEcho(t, ca.Server(t, "db", "db.internal"), clientCA, nil)
	headers := make(chan *proxyproto.Header, 4)
	proxiedAddr := tlsEcho(t, ca.Server(t, "db", "127.0.0.1"), nil, headers)
	roots := ca.Pool()
	tests := []struct {
		name      string
		addr      string
		lb        config.TCPLoadBalancer
		transport *Transport
		want      string // the answer; "" when the server refuses the connection, "dial fails" when Ferry refuses the server
	}{
		{"verified by the private CA", plainAddr, config.TCPLoadBalancer{},
			&Transport{TLS: &tls.Config{RootCAs: roots}}, "anonymous  hello\n"}, // no SNI for an IP
		{"unknown CA", plainAddr, config.TCPLoadBalancer{}, &Transport{TLS: &tls.Config{}}, "dial fails"},
		{"client certificate and server name", mutualAddr, config.TCPLoadBalancer{},
			&Transport{TLS: &tls.Config{RootCAs: roots, ServerName: "db.internal", Certificates: []tls.Certificate{client.TLS}}},
			"ferry db.internal hello\n"},
		{"no client certificate", mutualAddr, config.TCPLoadBalancer{},
			&Transport{TLS: &tls.Config{RootCAs: roots, ServerName: "db.internal"}}, ""},
		{"PROXY header before the handshake", proxiedAddr, config.TCPLoadBalancer{},
			&Transport{ProxyProtocol: 1, TLS: &tls.Config{RootCAs: roots}}, "anonymous  hello\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := tt.lb
			lb.Servers = []config.TCPServer{{Address: tt.addr}}
			l, err := NewLoadBalancerWith("db", &config.TCPService{LoadBalancer: &lb}, tt.transport)
			if err != nil {
				t.Fatal(err)
			}
			client := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.9:4242"))
			local := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:5432"))
			up, err := l.Dial(context.Background(), client, local)
			if err == nil && tt.want == "dial fails" {
				up.Close()
				t.Fatal("dial succeeded, want a failed handshake")
			}
			if err != nil {
				if tt.want != "dial fails" {
					t.Fatal(err)
				}
				if !strings.Contains(err.Error(), "tls handshake with "+tt.addr) {
					t.Errorf("error %q does not name the handshake and the server", err)
				}
				return
			}
			defer up.Close()
			_ = up.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(up, "hello\n")
			// In TLS 1.3 the server refuses a missing client certificate
			// after the client's side of the handshake is done: the first
			// read fails.
			got, _ := bufio.NewReader(up).ReadString('\n')
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			if tt.transport.ProxyProtocol > 0 {
				if h := <-headers; h == nil || h.Version != 1 || h.Source != client.AddrPort() {
					t.Errorf("PROXY header %+v, want version 1 from %s", h, client)
				}
			}
		})
	}
}

func TestTransportDefaultsAndOverrides(t *testing.T) {
	tr := &Transport{TerminationDelay: time.Second, ProxyProtocol: 2}
	servers := []config.TCPServer{{Address: "127.0.0.1:1"}}
	l, err := NewLoadBalancerWith("a", &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{Servers: servers}}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if l.delay != time.Second || l.proxyVersion != 2 || l.Transport() != tr {
		t.Errorf("from the transport: delay %s, PROXY v%d", l.delay, l.proxyVersion)
	}
	own := &config.TCPService{LoadBalancer: &config.TCPLoadBalancer{Servers: servers,
		TerminationDelay: 1e6 /* 1ms, whatever the field's duration type */, ProxyProtocol: &config.ProxyProtocol{Version: 1}}}
	if l, err = NewLoadBalancerWith("b", own, tr); err != nil {
		t.Fatal(err)
	}
	if l.delay != time.Millisecond || l.proxyVersion != 1 {
		t.Errorf("the service's own settings lost: delay %s, PROXY v%d", l.delay, l.proxyVersion)
	}
	if l, err = NewLoadBalancerWith("c", own, nil); err != nil || l.Transport() != nil {
		t.Errorf("no transport: %v, %v", l.Transport(), err)
	}
}
