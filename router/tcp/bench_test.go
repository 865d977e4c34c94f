package tcp

import (
	"bytes"
	"crypto/tls"
	"io"
	"testing"
	"time"
)

func BenchmarkParseClientHello(b *testing.B) {
	in := recordHello(b, &tls.Config{ServerName: "db.test", NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true})
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseClientHello(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipe measures one direction of a forwarded loopback connection.
func BenchmarkPipe(b *testing.B) {
	client, proxyIn := tcpPairB(b)
	proxyOut, server := tcpPairB(b)
	var pool BufferPool
	go Pipe(proxyIn, proxyOut, PipeOptions{Idle: time.Minute, Buffers: &pool})
	chunk := make([]byte, 64<<10)
	go func() { _, _ = io.Copy(io.Discard, server) }()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := client.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	client.Close()
}
