package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/ferryproxy/ferry/router/config"
)

// grpcServer starts a real gRPC server on loopback; with the health service
// unless bare. It returns its address, the health server and a stop function.
func grpcServer(t *testing.T, bare bool, seen chan<- metadata.MD) (string, *health.Server, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if seen != nil {
		opts = append(opts, grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			select {
			case seen <- md:
			default:
			}
			return h(ctx, req)
		}))
	}
	s := grpc.NewServer(opts...)
	hs := health.NewServer()
	if !bare {
		healthpb.RegisterHealthServer(s, hs)
	}
	go func() { _ = s.Serve(l) }()
	return l.Addr().String(), hs, s.Stop
}

// TestGRPCHealthCheck: mode grpc follows the server's gRPC health status,
// and a server without the health service, or gone, is DOWN with the reason.
func TestGRPCHealthCheck(t *testing.T) {
	seen := make(chan metadata.MD, 1)
	addr, hs, stop := grpcServer(t, false, seen)
	defer stop()
	reg := NewRegistry(zap.NewNop(), Options{})
	defer reg.Close()
	check := fastCheck(config.HealthCheck{Mode: "GRPC", Path: "/ignored", Hostname: "api.internal", Headers: map[string]string{"X-Probe": "1"}})
	c, err := reg.Checker(KeyOf("svc", check, "h2c://"+addr), check, Pending)
	if err != nil {
		t.Fatal(err)
	}
	reg.Sync([]*Checker{c})
	waitState(t, c, Up)
	md := <-seen
	if got := md.Get("x-probe"); len(got) != 1 || got[0] != "1" || md.Get(":authority")[0] != "api.internal" {
		t.Fatalf("metadata %v, want x-probe: 1 and :authority api.internal", md)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitState(t, c, Down)
	if e := c.Status().LastError; e != "gRPC health status NOT_SERVING, want SERVING" {
		t.Fatalf("last error %q", e)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	waitState(t, c, Up)
	stop()
	waitState(t, c, Down)
	if e := c.Status().LastError; !strings.Contains(e, "Unavailable") {
		t.Fatalf("server gone: last error %q, want Unavailable", e)
	}
}

func TestGRPCHealthCheckUnimplemented(t *testing.T) {
	addr, _, stop := grpcServer(t, true, nil)
	defer stop()
	reg := NewRegistry(zap.NewNop(), Options{})
	defer reg.Close()
	check := fastCheck(config.HealthCheck{Mode: "grpc", Timeout: config.Duration(time.Second)})
	c, err := reg.Checker(KeyOf("svc", check, "http://"+addr), check, Up)
	if err != nil {
		t.Fatal(err)
	}
	reg.Sync([]*Checker{c})
	waitState(t, c, Down)
	if e := c.Status().LastError; !strings.Contains(e, "does not implement the gRPC health protocol") {
		t.Fatalf("last error %q", e)
	}
}
