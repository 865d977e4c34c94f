package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	live := &http.Request{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := (&http.Request{}).WithContext(ctx)
	timeout := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name   string
		r      *http.Request
		err    error
		want   Kind
		status int
	}{
		{"refused", live, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, Upstream, 502},
		{"reset by the server", live, syscall.ECONNRESET, Upstream, 502},
		{"server timeout", live, fmt.Errorf("round trip: %w", timeout), UpstreamTimeout, 504},
		{"client cancelled", gone, context.Canceled, ClientGone, 499},
		{"malformed chunk", live, &BodyError{Err: errors.New("invalid byte in chunk length")}, ClientMalformed, 400},
		{"stalled body", live, fmt.Errorf("readfrom: %w", &BodyError{Err: timeout}), ClientTimeout, 408},
		{"body cut short", live, &BodyError{Err: io.ErrUnexpectedEOF}, ClientMalformed, 400},
		{"body cut short by a client gone", gone, &BodyError{Err: io.ErrUnexpectedEOF}, ClientMalformed, 400},
		{"connection reset under the body", live, &BodyError{Err: syscall.ECONNRESET}, ClientGone, 499},
		{"body too large", live, &BodyError{Err: &http.MaxBytesError{Limit: 1}}, ClientTooLarge, 413},
		{"body error of a client gone", gone, &BodyError{Err: errors.New("stream closed")}, ClientGone, 499},
		{"already classified", live, &Error{Kind: ClientTimeout, Err: errors.New("x")}, ClientTimeout, 408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Classify(tt.r, tt.err)
			if k != tt.want || k.Status() != tt.status {
				t.Fatalf("Classify = %s (%d), want %s (%d)", k, k.Status(), tt.want, tt.status)
			}
			if got := IsClient(Wrap(tt.r, tt.err)); got != k.Client() {
				t.Fatalf("IsClient(Wrap) = %v, want %v", got, k.Client())
			}
		})
	}
	// The transport saw its request cancelled, but the body had failed first.
	ctx2, cancel2 := context.WithCancel(context.WithValue(context.Background(), BodyKey{}, failedBody{timeout}))
	cancel2()
	if k := Classify((&http.Request{}).WithContext(ctx2), context.Canceled); k != ClientTimeout {
		t.Fatalf("cancelled request whose body timed out: %s, want %s", k, ClientTimeout)
	}
	if IsClient(errors.New("plain")) {
		t.Fatal("an unclassified error is blamed on the client")
	}
}

type failedBody struct{ err error }

func (b failedBody) ReadError() error { return b.err }
