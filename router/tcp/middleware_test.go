package tcp

import (
	"net"
	"net/netip"
	"testing"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/config"
)

// fromConn is a connection from a given address.
type fromConn struct {
	net.Conn
	addr net.Addr
}

func (c fromConn) RemoteAddr() net.Addr { return c.addr }

func conn(ip string) net.Conn {
	return fromConn{addr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 40000))}
}

func TestGuards(t *testing.T) {
	allow, err := NewGuard(&config.TCPMiddleware{IPAllowList: &config.TCPIPAllowList{SourceRange: []string{"10.0.0.0/8", "2001:db8::1"}}})
	if err != nil {
		t.Fatal(err)
	}
	limit, err := NewGuard(&config.TCPMiddleware{InFlightConn: &config.TCPInFlightConn{Amount: 2}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Route{Name: "db", Guards: []NamedGuard{{Name: "office", Guard: allow}, {Name: "two", Guard: limit}}}
	log := zap.NewNop()
	if _, ok := r.admit(conn("192.0.2.1"), log); ok {
		t.Fatal("a client outside sourceRange was admitted")
	}
	if _, ok := r.admit(conn("::ffff:10.1.2.3"), log); !ok {
		t.Fatal("an IPv4-mapped client inside sourceRange was refused")
	}
	if _, ok := r.admit(conn("2001:db8::1"), log); !ok {
		t.Fatal("a single IPv6 address in sourceRange was refused")
	}
	var releases []func()
	for i := range 2 {
		rel, ok := r.admit(conn("10.0.0.5"), log)
		if !ok {
			t.Fatalf("connection %d of 2 refused", i+1)
		}
		releases = append(releases, rel)
	}
	if _, ok := r.admit(conn("10.0.0.5"), log); ok {
		t.Fatal("a third connection of one client was admitted with amount 2")
	}
	if _, ok := r.admit(conn("10.0.0.6"), log); !ok {
		t.Fatal("another client was refused")
	}
	releases[0]()
	if _, ok := r.admit(conn("10.0.0.5"), log); !ok {
		t.Fatal("a connection was refused after one closed")
	}
	f := limit.(*inFlightConn)
	releases[1]()
	if n := f.Open(netip.MustParseAddr("10.0.0.5")); n != 1 {
		t.Fatalf("open connections = %d, want 1", n)
	}
	// a refused connection holds no count: the allow list runs first
	if _, ok := r.admit(conn("192.0.2.1"), log); ok || f.Open(netip.MustParseAddr("192.0.2.1")) != 0 {
		t.Fatal("a refused connection was counted")
	}
}

func TestGuardErrors(t *testing.T) {
	tests := []struct {
		def  config.TCPMiddleware
		want string
	}{
		{config.TCPMiddleware{IPAllowList: &config.TCPIPAllowList{}}, "ipAllowList.sourceRange: empty: list the IPs and CIDRs allowed"},
		{config.TCPMiddleware{IPAllowList: &config.TCPIPAllowList{SourceRange: []string{"10.0.0.1", "x"}}}, `ipAllowList.sourceRange[1]: invalid IP "x"`},
		{config.TCPMiddleware{InFlightConn: &config.TCPInFlightConn{}}, "inFlightConn.amount: must be a positive number of connections, got 0"},
		{config.TCPMiddleware{}, "want exactly one of ipAllowList or inFlightConn"},
	}
	for _, tt := range tests {
		if _, err := NewGuard(&tt.def); err == nil || err.Error() != tt.want {
			t.Errorf("NewGuard(%+v) = %v, want %q", tt.def, err, tt.want)
		}
	}
}

// BenchmarkGuards is what the ipAllowList and inFlightConn middlewares add
// to a connection: parsing the client address, a range check and a count
// taken and given back.
func BenchmarkGuards(b *testing.B) {
	allow, _ := NewGuard(&config.TCPMiddleware{IPAllowList: &config.TCPIPAllowList{SourceRange: []string{"192.168.0.0/16", "10.0.0.0/8"}}})
	limit, _ := NewGuard(&config.TCPMiddleware{InFlightConn: &config.TCPInFlightConn{Amount: 100}})
	r := &Route{Name: "db", Guards: []NamedGuard{{Name: "office", Guard: allow}, {Name: "limit", Guard: limit}}}
	c, log := conn("10.1.2.3"), zap.NewNop()
	b.ReportAllocs()
	for b.Loop() {
		release, ok := r.admit(c, log)
		if !ok {
			b.Fatal("refused")
		}
		release()
	}
}
