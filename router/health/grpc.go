package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcProbe is a server's gRPC health client. Its connection is kept
// between probes, as HTTP probes keep theirs alive.
type grpcProbe struct {
	conn   *grpc.ClientConn
	client healthpb.HealthClient
	md     metadata.MD
}

// probeGRPC asks the server grpc.health.v1.Health/Check for the whole
// server (an empty service name), over TLS for https servers and cleartext
// HTTP/2 otherwise, and passes on SERVING. The probe's headers are sent as
// metadata and its hostname as the :authority.
func (c *Checker) probeGRPC(ctx context.Context, cl *clients) error {
	if c.grpc == nil {
		p, err := c.dialGRPC(cl)
		if err != nil {
			return err
		}
		c.grpc = p
	}
	if len(c.grpc.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, c.grpc.md)
	}
	resp, err := c.grpc.client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		st := status.Convert(err)
		switch {
		case st.Code() == codes.Unimplemented:
			return errors.New("the server does not implement the gRPC health protocol (grpc.health.v1.Health)")
		case st.Code() == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("no answer within %s", c.check.Timeout)
		}
		return fmt.Errorf("gRPC health check: %s: %s", st.Code(), st.Message())
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("gRPC health status %s, want SERVING", s)
	}
	return nil
}

// dialGRPC makes the check's gRPC client; it connects on the first call
// and reconnects on its own, trying again at least every second.
func (c *Checker) dialGRPC(cl *clients) (*grpcProbe, error) {
	creds := insecure.NewCredentials()
	if c.target.Scheme == "https" {
		conf := &tls.Config{MinVersion: tls.VersionTLS12}
		if t, ok := cl.plain.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
			conf = t.TLSClientConfig.Clone()
		}
		if c.host != "" && conf.ServerName == "" {
			conf.ServerName = c.host
		}
		conf.NextProtos = []string{"h2"}
		creds = credentials.NewTLS(conf)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("ferry-health-check"),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: c.check.Timeout,
		}),
	}
	if c.host != "" {
		opts = append(opts, grpc.WithAuthority(c.host))
	}
	conn, err := grpc.NewClient("passthrough:///"+c.target.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("gRPC health check: %w", err)
	}
	p := &grpcProbe{conn: conn, client: healthpb.NewHealthClient(conn)}
	for k, v := range c.check.Headers {
		if p.md == nil {
			p.md = metadata.MD{}
		}
		p.md.Append(k, v)
	}
	return p, nil
}

// closeGRPC closes the gRPC client, if any.
func (c *Checker) closeGRPC() {
	if c.grpc != nil {
		_ = c.grpc.conn.Close()
		c.grpc = nil
	}
}
