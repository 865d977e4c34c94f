package entrypoint

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"testing"
)

func TestHeaderScan(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		cl, te uint32
	}{
		{"none", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0},
		{"content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 1, 0},
		{"both, any case", "POST / HTTP/1.1\r\ncontent-LENGTH: 3\r\nTRANSFER-encoding: chunked\r\n\r\n", 1, 1},
		{"not at a line start", "GET /?x=Content-Length: HTTP/1.1\r\nX-A: transfer-encoding:\r\n\r\n", 0, 0},
		{"space before the colon is not the header", "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\n", 0, 0},
		{"prefix only", "POST / HTTP/1.1\r\nContent-Lengt\r\nTransfer-Encodin: x\r\n\r\n", 0, 0},
		{"keep-alive: two requests", "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nxPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1, 1},
		{"at the very start", "Content-Length: 1\n", 1, 0},
		{"bare LF", "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// However the stream is split into reads, the counts are the same.
			for seed := range uint64(50) {
				var s headerScan
				r := rand.New(rand.NewPCG(seed, 7))
				b := []byte(tt.stream)
				for len(b) > 0 {
					n := 1 + r.IntN(len(b))
					if seed == 0 {
						n = len(b) // one read
					}
					s.scan(b[:n])
					b = b[n:]
				}
				if cl, te := s.contentLength.Load(), s.transferEncoding.Load(); cl != tt.cl || te != tt.te {
					t.Fatalf("split %d: Content-Length %d, Transfer-Encoding %d; want %d, %d", seed, cl, te, tt.cl, tt.te)
				}
			}
		})
	}
}

func TestFraming(t *testing.T) {
	var c httpConn
	c.scan.scan([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"))
	if reject, closeAfter := c.framing(false, true, false); reject || closeAfter {
		t.Fatalf("plain Content-Length request: reject %v, close %v", reject, closeAfter)
	}
	c.scan.scan([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	if reject, closeAfter := c.framing(true, false, false); reject || closeAfter {
		t.Fatalf("chunked request after a Content-Length one: reject %v, close %v", reject, closeAfter)
	}
	c.scan.scan([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	if _, closeAfter := c.framing(true, false, false); !closeAfter {
		t.Fatal("Content-Length with Transfer-Encoding: connection kept")
	}
	var old httpConn
	old.scan.scan([]byte("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"))
	if reject, _ := old.framing(false, false, true); !reject {
		t.Fatal("HTTP/1.0 with Transfer-Encoding accepted")
	}
}

func FuzzHeaderScan(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		var whole, split headerScan
		whole.scan(b)
		i := min(int(cut), len(b))
		split.scan(b[:i])
		split.scan(b[i:])
		if whole.contentLength.Load() != split.contentLength.Load() || whole.transferEncoding.Load() != split.transferEncoding.Load() {
			t.Fatalf("split at %d changes the counts", i)
		}
	})
}

func TestStripForwarded(t *testing.T) {
	h := http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"}, "X-Real-Ip": {"1.2.3.4"},
		"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-Tls-Client-Cert": {"x"}, "X-Frame-Options": {"DENY"},
		"Accept": {"*/*"}, "Fwd": {"1"}}
	stripForwarded(h)
	if len(h) != 3 || h["X-Frame-Options"] == nil || h["Accept"] == nil || h["Fwd"] == nil {
		t.Fatalf("left %v", h)
	}
	l := &Listener{opts: Options{ForwardedTrustedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for addr, want := range map[string]bool{"10.1.2.3:5": true, "[::ffff:10.1.2.3]:5": true, "11.0.0.1:5": false, "junk": false} {
		if got := l.trustsForwarded(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("trustsForwarded(%s) = %v", addr, got)
		}
	}
}
