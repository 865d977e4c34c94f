package proxyproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name    string
		in      Header
		want    Header
		encoded string // version 1 only
	}{
		{"v1 IPv4", Header{Version: 1, Source: ap("192.0.2.1:5555"), Destination: ap("127.0.0.1:443")},
			Header{Version: 1, Source: ap("192.0.2.1:5555"), Destination: ap("127.0.0.1:443")},
			"PROXY TCP4 192.0.2.1 127.0.0.1 5555 443\r\n"},
		{"v1 IPv6", Header{Version: 1, Source: ap("[2001:db8::1]:1"), Destination: ap("[::1]:65535")},
			Header{Version: 1, Source: ap("[2001:db8::1]:1"), Destination: ap("[::1]:65535")},
			"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"},
		{"v1 mapped IPv4 is sent as IPv4", Header{Version: 1, Source: ap("[::ffff:10.0.0.1]:80"), Destination: ap("10.0.0.2:81")},
			Header{Version: 1, Source: ap("10.0.0.1:80"), Destination: ap("10.0.0.2:81")},
			"PROXY TCP4 10.0.0.1 10.0.0.2 80 81\r\n"},
		{"v1 unknown", Header{Version: 1}, Header{Version: 1, Local: true}, "PROXY UNKNOWN\r\n"},
		{"v2 IPv4", Header{Version: 2, Source: ap("198.51.100.7:40000"), Destination: ap("127.0.0.1:5432")},
			Header{Version: 2, Source: ap("198.51.100.7:40000"), Destination: ap("127.0.0.1:5432")}, ""},
		{"v2 IPv6", Header{Version: 2, Source: ap("[2001:db8::7]:40000"), Destination: ap("[::1]:5432")},
			Header{Version: 2, Source: ap("[2001:db8::7]:40000"), Destination: ap("[::1]:5432")}, ""},
		{"v2 mixed families become IPv6", Header{Version: 2, Source: ap("10.0.0.1:1"), Destination: ap("[::1]:2")},
			Header{Version: 2, Source: ap("[::ffff:10.0.0.1]:1"), Destination: ap("[::1]:2")}, ""},
		{"v2 local", Header{Version: 2, Local: true}, Header{Version: 2, Local: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.encoded != "" && string(b) != tt.encoded {
				t.Errorf("encoded %q, want %q", b, tt.encoded)
			}
			// The header is followed by payload that Read must leave alone.
			r := bufio.NewReader(io.MultiReader(bytes.NewReader(b), bytes.NewReader([]byte("payload"))))
			got, err := Read(r)
			if err != nil {
				t.Fatalf("Read(%q): %v", b, err)
			}
			if *got != tt.want {
				t.Errorf("Read = %+v, want %+v", *got, tt.want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "payload" {
				t.Errorf("payload after header = %q", rest)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name, in string
		noHeader bool
	}{
		{"HTTP request", "GET / HTTP/1.1\r\n", true},
		{"POST looks like PROXY for a byte", "POST / HTTP/1.1\r\n", true},
		{"TLS", "\x16\x03\x01\x00", true},
		{"v1 without CRLF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", false},
		{"v1 bad family", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", false},
		{"v1 family mismatch", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", false},
		{"v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", false},
		{"v1 leading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", false},
		{"v1 too long", "PROXY TCP6 " + string(bytes.Repeat([]byte("1"), 120)) + "\r\n", false},
		{"v2 truncated", string(sigV2) + "\x21\x11\x00\x0c\x01\x02", false},
		{"v2 short IPv4 block", string(sigV2) + "\x21\x11\x00\x04\x01\x02\x03\x04", false},
		{"v2 bad version", string(sigV2) + "\x11\x11\x00\x00", false},
		{"v2 bad command", string(sigV2) + "\x2f\x11\x00\x00", false},
		{"truncated signature", "\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader([]byte(tt.in)))
			h, err := Read(r)
			if err == nil {
				t.Fatalf("Read(%q) = %+v, want an error", tt.in, h)
			}
			if got := errors.Is(err, ErrNoHeader); got != tt.noHeader {
				t.Errorf("Read(%q) error %v; ErrNoHeader %v, want %v", tt.in, err, got, tt.noHeader)
			}
			if tt.noHeader {
				if rest, _ := io.ReadAll(r); string(rest) != tt.in {
					t.Errorf("Read consumed bytes of a stream without header: %q left", rest)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]int{"": -1, "P": -1, "PROXY": -1, "PROXY ": 1, "PROXZ": 0, "\r\n\r": -1,
		string(sigV2): 2, "G": 0} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestV2SkipsTLVs(t *testing.T) {
	h := Header{Version: 2, Source: netip.MustParseAddrPort("10.1.1.1:1000"), Destination: netip.MustParseAddrPort("10.2.2.2:2000")}
	b, _ := h.Append(nil)
	b[15] += 5 // announce 5 more bytes: one TLV
	b = append(b, 0x04, 0x00, 0x02, 'o', 'k')
	got, err := ParseV2(b)
	if err != nil || *got != h {
		t.Fatalf("ParseV2 with TLV = %+v, %v; want %+v", got, err, h)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nx", "PROXY UNKNOWN\r\n", string(sigV2) + "\x21\x11\x00\x0c123456789012", "GET /"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := Read(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		b, err := h.Append(nil)
		if err != nil {
			t.Fatalf("Append(%+v): %v", h, err)
		}
		h2, err := Read(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("re-read %q: %v", b, err)
		}
		if !h.Local && *h2 != *h {
			t.Fatalf("round trip %+v -> %q -> %+v", h, b, h2)
		}
	})
}
