package router

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
	"github.com/ferryproxy/ferry/router/entrypoint"
)

// BenchmarkTLSHandshake measures full TLS 1.3 handshakes (ECDSA P-256,
// loopback TCP, client and server in this process) through an entry
// point's TLS configuration, with 10,000 TLS routers: without TLS options
// (the entry point's own configuration), and with half of them having
// options of their own (the chosen name has).
// Run with -cpu 1 for handshakes per second per core.
func BenchmarkTLSHandshake(b *testing.B) {
	cert, certPEM, keyPEM := namedPair(b, "h500.test", "h501.test")
	for _, bc := range []struct {
		name    string
		options bool
	}{{"10k-routers-no-options", false}, {"10k-routers-with-options", true}} {
		b.Run(bc.name, func(b *testing.B) {
			sw := tlsSwitcher(b)
			cfg := benchTLSConfig(10000)
			if !bc.options {
				cfg.TLS.Options = nil
				for _, r := range cfg.HTTP.Routers {
					r.TLS.Options = ""
				}
			}
			cfg.TLS.Certificates = []config.Certificate{{CertFile: certPEM, KeyFile: keyPEM}}
			sw.Apply(Input{Config: cfg})
			server := entrypoint.ServerTLSConfig(sw.GetCertificate, sw.TLSConfigForClient(0))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						tc := tls.Server(c, server)
						_ = tc.Handshake()
						_ = tc.Close()
					}()
				}
			}()
			roots := x509Pool(cert)
			client := &tls.Config{ServerName: "h500.test", RootCAs: roots, ClientSessionCache: nil}
			b.ReportAllocs()
			for b.Loop() {
				c, err := tls.Dial("tcp", ln.Addr().String(), client)
				if err != nil {
					b.Fatal(err)
				}
				_ = c.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

func x509Pool(c *tls.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Leaf)
	return p
}

// BenchmarkStripClientCertHeaders measures the removal of forged client
// certificate headers, on every request, from a browser-like request of
// 12 headers.
func BenchmarkStripClientCertHeaders(b *testing.B) {
	h := http.Header{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Cache-Control", "Connection", "Cookie",
		"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Upgrade-Insecure-Requests", "User-Agent", "X-Request-Id"} {
		h[k] = []string{"v"}
	}
	b.ReportAllocs()
	for b.Loop() {
		stripClientCertHeaders(h)
	}
}
