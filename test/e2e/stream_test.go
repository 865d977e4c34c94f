package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// dialWS opens a WebSocket through Ferry's entry point with the given Host.
func dialWS(t *testing.T, f *Ferry, host, path string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws://"+f.Web+path, http.Header{"Host": {host}})
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("websocket dial %s%s through ferry: %v (status %d)", host, path, err, code)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wsEcho sends msg and expects it back unchanged.
func wsEcho(t *testing.T, conn *websocket.Conn, mt int, msg []byte) {
	t.Helper()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteMessage(mt, msg); err != nil {
		t.Fatalf("websocket write: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	gotType, got, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	if gotType != mt || !bytes.Equal(got, msg) {
		t.Fatalf("websocket echo: got type %d %d bytes, want type %d %d bytes", gotType, len(got), mt, len(msg))
	}
}

func TestWebSocketAndSSE(t *testing.T) {
	t.Parallel()
	acks := make(chan int)
	gated := func(w http.ResponseWriter, r *http.Request) {
		// Sends event i, then waits until the client has received it before
		// sending event i+1: a proxy that buffers the stream never lets the
		// client see event 0, and the backend gives up with "timeout".
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Backend", "a")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
			if i == 2 {
				return
			}
			select {
			case <-acks:
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Second):
				fmt.Fprint(w, "data: timeout\n\n")
				return
			}
		}
	}
	a := StartBackend(t, "a", map[string]http.HandlerFunc{"/gated-sse": gated})
	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    stream:
      rule: "Host('stream.test')"
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: "%s"
`, a.URL)})
	f.WaitRoute("stream.test", "/", http.StatusOK, "a")

	t.Run("websocket echo", func(t *testing.T) {
		f := f.For(t)
		conn := dialWS(t, f, "stream.test", "/ws")
		wsEcho(t, conn, websocket.TextMessage, []byte("hello through ferry"))
		wsEcho(t, conn, websocket.BinaryMessage, []byte{0, 1, 2, 255})
		wsEcho(t, conn, websocket.TextMessage, bytes.Repeat([]byte("x"), 64<<10))
	})

	t.Run("sse events arrive one by one", func(t *testing.T) {
		f := f.For(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.Web+"/gated-sse", nil)
		req.Host = "stream.test"
		req.Header.Set("Accept", "text/event-stream")
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatalf("GET /gated-sse: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		br := bufio.NewReader(resp.Body)
		for i := 0; i < 3; i++ {
			data := readEvent(t, br)
			if data == "timeout" {
				t.Fatalf("event %d did not reach the client before the backend gave up: the stream is buffered", i)
			}
			if data != fmt.Sprint(i) {
				t.Fatalf("event %d: data %q", i, data)
			}
			if i < 2 {
				select {
				case acks <- i:
				case <-time.After(5 * time.Second):
					t.Fatalf("backend did not wait for ack %d", i)
				}
			}
		}
	})
}

// readEvent reads one server-sent event and returns its data field.
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, data)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if data != "" {
				return data
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
}

func TestGRPCHealthOverH2C(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", reservedAddr(t, false))
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("ferry.Down", healthpb.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus("ferry.Watched", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	f := StartFerry(t, Options{Dynamic: dyn(`
http:
  routers:
    grpc:
      rule: "Host('grpc.test')"
      service: grpc
  services:
    grpc:
      loadBalancer:
        servers:
          - url: "h2c://%s"
`, lis.Addr())})

	client := func(t *testing.T, authority string) healthpb.HealthClient {
		t.Helper()
		cc, err := grpc.NewClient(f.Web,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithAuthority(authority))
		if err != nil {
			t.Fatalf("grpc client: %v", err)
		}
		t.Cleanup(func() { cc.Close() })
		return healthpb.NewHealthClient(cc)
	}
	hc := client(t, "grpc.test")
	check := func(service string) (*healthpb.HealthCheckResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	}

	// Wait for the route.
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := check("")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC Check through ferry never succeeded: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("check serving", func(t *testing.T) {
		resp, err := check("")
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(\"\") = %v, %v; want SERVING", resp.GetStatus(), err)
		}
	})
	t.Run("check not serving", func(t *testing.T) {
		resp, err := check("ferry.Down")
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("Check(ferry.Down) = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
		}
	})
	t.Run("error status passes in trailers", func(t *testing.T) {
		_, err := check("ferry.Unknown")
		if status.Code(err) != codes.NotFound {
			t.Fatalf("Check(ferry.Unknown) error %v, want code NotFound", err)
		}
	})
	t.Run("server stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "ferry.Watched"})
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		first, err := stream.Recv()
		if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first Watch message %v, %v; want SERVING", first.GetStatus(), err)
		}
		hs.SetServingStatus("ferry.Watched", healthpb.HealthCheckResponse_NOT_SERVING)
		second, err := stream.Recv()
		if err != nil || second.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("second Watch message %v, %v; want NOT_SERVING", second.GetStatus(), err)
		}
	})
	t.Run("other authority has no route", func(t *testing.T) {
		other := client(t, "other.test")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := other.Check(ctx, &healthpb.HealthCheckRequest{})
		// gRPC maps an HTTP 404 to Unimplemented.
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("Check with authority other.test: error %v, want code Unimplemented (HTTP 404)", err)
		}
	})
}
